"""Role permissions for API clients: `HasRole("sales_agent")`, and helpers to read the caller."""
from rest_framework.permissions import BasePermission

from jinju_portal.models import ApiClient, Role


def api_client(request) -> ApiClient | None:
    return request.auth if isinstance(request.auth, ApiClient) else None


def HasRole(*roles: str):
    """A permission class admitting API clients of the given roles (401 without a key, 403 otherwise)."""
    allowed = {Role(r) for r in roles}

    class _HasRole(BasePermission):
        message = "이 API 클라이언트의 역할로는 허용되지 않습니다."
        code = "permission_denied"

        def has_permission(self, request, view):
            client = api_client(request)
            return client is not None and client.role in allowed

    _HasRole.__name__ = "HasRole_" + "_".join(sorted(allowed))
    return _HasRole

