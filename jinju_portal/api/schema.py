"""OpenAPI helpers: the error body, and documenting which codes each status can carry."""
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case error code")
    detail = serializers.CharField(help_text="human-readable message (Korean)")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="per-field messages, only for validation errors")


_DEFAULT_CODES = {
    400: "invalid, malformed_request",
    401: "not_authenticated, authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    429: "throttled (with Retry-After)",
}


def error_responses(**codes_by_status) -> dict:
    """error_responses(s400="invalid_face_value, invalid_buyer", s409="tranche_sold_out", s401=True)
    -> {400: OpenApiResponse(ErrorSerializer, "codes: …"), …}."""
    out = {}
    for key, codes in codes_by_status.items():
        status_code = int(key.lstrip("s"))
        text = _DEFAULT_CODES.get(status_code, "") if codes is True else codes
        out[status_code] = OpenApiResponse(ErrorSerializer, description=f"Error codes: {text}")
    return out


