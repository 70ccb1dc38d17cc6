"""The one API error format, `{"code", "detail", "fields"?}`, for every error DRF or Django raises."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from jinju_portal.errors import ServiceError

log = logging.getLogger(__name__)

# DRF's own codes, renamed where the contract wants a clearer word.
_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}
_KOREAN = {
    "malformed_request": "요청 본문을 해석할 수 없습니다 (올바른 UTF-8 JSON이어야 합니다).",
    "not_authenticated": "인증 정보가 없습니다. Authorization: Token <키> 헤더를 보내 주세요.",
    "not_found": "찾을 수 없습니다.",
    "method_not_allowed": "허용되지 않는 메서드입니다.",
    "unsupported_media_type": "지원하지 않는 형식입니다. Content-Type: application/json 으로 보내 주세요.",
    "not_acceptable": "요청한 응답 형식을 제공할 수 없습니다.",
    "permission_denied": "권한이 없습니다.",
}
VALIDATION_CODE = "invalid"
VALIDATION_DETAIL = "입력값이 올바르지 않습니다."


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": code, "detail": str(detail)}
    if fields:
        body["fields"] = fields
    return body


def _flatten_fields(detail) -> dict:
    """DRF's nested ValidationError detail -> {"field": ["message", ...]}."""
    if isinstance(detail, dict):
        out = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_fields(value).items():
                    out[f"{name}.{sub}"] = msgs
            elif isinstance(value, list):
                out[name] = [str(m) for m in _flat_messages(value)]
            else:
                out[name] = [str(value)]
        return out
    return {"non_field_errors": [str(m) for m in _flat_messages(detail if isinstance(detail, list) else [detail])]}


def _flat_messages(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flat_messages(item)
        elif isinstance(item, dict):
            for msgs in _flatten_fields(item).values():
                yield from msgs
        else:
            yield item


def _first_code(detail):
    """The code of a validation error when one field-level code names the problem (e.g. a
    business-number validator's `invalid_business_number`); otherwise the generic `invalid`."""
    codes = set()

    def walk(d):
        if isinstance(d, dict):
            for v in d.values():
                walk(v)
        elif isinstance(d, list):
            for v in d:
                walk(v)
        elif isinstance(d, exceptions.ErrorDetail):
            codes.add(d.code)

    walk(detail)
    domain = {c for c in codes if c and "_" in c and c not in {"max_length", "min_length", "max_value",
                                                               "min_value", "null_characters_not_allowed",
                                                               "does_not_exist", "not_a_list", "max_digits",
                                                               "max_decimal_places", "max_whole_digits",
                                                               "incorrect_type", "invalid_choice", "not_a_dict"}}
    return domain.pop() if len(domain) == 1 else VALIDATION_CODE


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(serializers.as_serializer_error(exc))
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", "요청 본문이 너무 큽니다."),
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "잘못된 요청입니다."), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (Http404, DjangoPermissionDenied)):
        exc = exceptions.NotFound() if isinstance(exc, Http404) else exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's handler500 answers JSON under /api/
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(_first_code(exc.detail), VALIDATION_DETAIL, _flatten_fields(exc.detail))
        return response
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = getattr(exc, "default_code", "error")
        if isinstance(exc.detail, exceptions.ErrorDetail) and exc.detail.code:
            code = exc.detail.code
    detail = exc.detail if isinstance(exc.detail, str) else VALIDATION_DETAIL
    if isinstance(exc, exceptions.ParseError):
        # DRF's own says "JSON parse error - Expecting value: line 1 column 1 (char 0)", in English
        # whatever the language: the contract's detail is Korean. Our subclasses (parsers.py) say why.
        detail = _KOREAN["malformed_request"] if type(exc) is exceptions.ParseError else str(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        detail = f"요청이 너무 많습니다. {exc.wait and int(exc.wait + 0.999) or 1}초 뒤에 다시 시도해 주세요."
    elif code in _KOREAN and isinstance(exc.detail, exceptions.ErrorDetail) and exc.detail == exc.default_detail:
        detail = _KOREAN[code]
    elif code == "method_not_allowed":
        detail = _KOREAN[code]
    response.data = error_body(code, detail)
    return response


# --- Django-level handlers: errors raised outside a DRF view (unknown URL, crash) -------------------

def _is_api(request):
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("not_found", _KOREAN["not_found"]), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception, template_name="404.html")


def handler500(request):
    if _is_api(request):
        return JsonResponse(error_body("server_error", "서버 오류가 발생했습니다. 잠시 뒤 다시 시도해 주세요."),
                            status=500)
    from django.views.defaults import server_error

    return server_error(request, template_name="500.html")


def handler400(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("bad_request", "잘못된 요청입니다."), status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", _KOREAN["permission_denied"]), status=403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)
