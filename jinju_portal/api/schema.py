"""OpenAPI helpers: the error body, documenting which codes each status can carry, and the schema
class that documents what `@idempotent` declares (header and codes) on every view it wraps."""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

PREFIX = "Error codes: "


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
        out[status_code] = OpenApiResponse(ErrorSerializer, description=f"{PREFIX}{text}")
    return out


class PortalAutoSchema(AutoSchema):
    """A view method wrapped by `@idempotent` documents its `Idempotency-Key` header (required or not)
    and the key's error codes from the decorator itself, so a new money-moving endpoint cannot forget."""

    def _idempotency(self):
        name = getattr(self.view, "action", None) or self.method.lower()
        return getattr(getattr(self.view, name, None), "idempotency", None)

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        spec = self._idempotency()
        return [*parameters, spec.parameter] if spec is not None else parameters

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        spec = self._idempotency()
        if spec is None or direction != "response":
            return bodies
        for status_code, codes in spec.error_codes.items():
            body = bodies.get(str(status_code))
            if body is None:
                bodies[str(status_code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=PREFIX + ", ".join(codes)), str(status_code))
                continue
            listed = body["description"].removeprefix(PREFIX)
            present = {c.strip().split(" ")[0] for c in listed.split(",") if c.strip()}
            missing = [c for c in codes if c not in present]
            if missing:
                body["description"] = PREFIX + ", ".join([*(c.strip() for c in listed.split(",") if c.strip()),
                                                          *missing])
        return bodies
