"""JSON-only request parsing with a size bound: a multi-megabyte body is refused before it is read.

Whatever cannot be a request body answers 400 `malformed_request` (errors.py gives it the Korean
detail), never a 500 and never a half-parsed value: bytes that are not UTF-8 JSON, JSON nested deeper
than Python's parser recurses, a string holding a lone surrogate (`"\\ud800"`, valid JSON that is not
text, which neither the request hash nor PostgreSQL could store), and a body that is not an object.
"""
import io
import json
import re

from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "요청 본문이 너무 큽니다."
    default_code = "request_too_large"


class NotAnObject(exceptions.ParseError):
    """Well-formed JSON, but an array, string, number or null where every endpoint takes an object."""
    default_detail = "요청 본문은 JSON 객체({ … })여야 합니다."


# \uD800–\uDFFF written as an escape: only then can a parsed string hold a surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        from django.conf import settings

        request = (parser_context or {}).get("request")
        limit = settings.API_MAX_BODY_BYTES
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise RequestTooLarge()
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise RequestTooLarge()
        try:
            value = super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError() from None
        if not isinstance(value, dict):
            raise NotAnObject()
        if _SURROGATE_ESCAPE.search(data):
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise exceptions.ParseError() from None
        return value
