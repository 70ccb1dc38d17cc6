"""Throttles: anonymous callers per IP, citizens per user, API clients at their own rate (API.md)."""
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from jinju_portal.models import UNTHROTTLED_ROLES, ApiClient


class AnonThrottle(AnonRateThrottle):
    scope = "anon"


class CitizenThrottle(UserRateThrottle):
    """Signed-in web users (session). API clients are left to ApiClientThrottle."""

    scope = "citizen"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiClient) or not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiClientThrottle(SimpleRateThrottle):
    scope = "api_client"

    def allow_request(self, request, view):
        client = request.auth if isinstance(request.auth, ApiClient) else None
        if client is None:
            return True
        if client.throttle_rate:
            self.rate = client.throttle_rate
        elif client.role in UNTHROTTLED_ROLES:
            return True
        else:
            self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PublicFormThrottle(AnonRateThrottle):
    """Public write endpoints (support requests, event sign-up, lookups): per IP for everyone."""

    scope = "public_form"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
