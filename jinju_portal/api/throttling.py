"""Throttles: anonymous callers per IP, citizens per user, API clients at their own rate (API.md)."""
import os

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from jinju_portal.models import UNTHROTTLED_ROLES, ApiClient

# DRF's sliding log, kept in Redis as a sorted set of request times and decided by one script: one
# round trip instead of DRF's two (GET the pickled list of every request time in the window, SET it
# back), and atomic, so concurrent workers cannot both admit the last request of a window (DRF's
# read-modify-write loses a concurrent entry), and a busy merchant's POS (the default rate admits
# 1,200 a minute) no longer carries a list of up to 1,200 times both ways on every payment. The two round
# trips were ~45 % of a POS payment's wall time in process (py-spy); under gunicorn this cut 1.77 →
# 1.53 ms of CPU per payment (bench/README.md, "payments.py"). Same rule as DRF's: admitted when fewer
# than `num_requests` were admitted in the last `duration` seconds (entries at exactly now −
# duration have expired); a refused one is not recorded.
SLIDING_LOG = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
if n >= limit then
  return {n, redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return {-1, ''}
"""
_script = None  # redis-py's Script: EVALSHA, loaded again (NOSCRIPT) after a Redis restart
# One redis-py client per connection pool: Django's get_client() builds a new client on every call,
# ~170 dict writes of response callbacks each (cProfile of a POS payment: 7 % of its time).
_clients = {}


class AnonThrottle(AnonRateThrottle):
    scope = "anon"


class CitizenThrottle(UserRateThrottle):
    """Signed-in web users (session). API clients are left to ApiClientThrottle."""

    scope = "citizen"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiClient) or not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


# Set in the WSGI environ by the POS payment's lean entry (vouchers/api/pos.py) when it has already
# admitted this request for the client with that id, before it handed the request to Django: the
# request is counted once. A caller cannot set it: HTTP headers reach the environ as HTTP_* only.
ADMITTED_ENVIRON_KEY = "portal.throttle_admitted_client"


class ApiClientThrottle(SimpleRateThrottle):
    scope = "api_client"

    def allow_request(self, request, view):
        client = request.auth if isinstance(request.auth, ApiClient) else None
        if client is None:
            return True
        if request.META.get(ADMITTED_ENVIRON_KEY) == client.pk:
            return True
        return self.allow_client(client, backend=caches["default"])

    def allow_client(self, client, *, backend) -> bool:
        """The decision for one API client, recorded when it admits (also used without a DRF request
        by the POS payment's lean entry)."""
        if client.throttle_rate:
            self.rate = client.throttle_rate
        elif client.role in UNTHROTTLED_ROLES:
            return True
        else:
            self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.cache_format % {"scope": self.scope, "ident": client.pk}
        if isinstance(backend, RedisCache):
            return self._allow_in_redis(backend)
        return self._allow_in_memory()

    def _allow_in_memory(self) -> bool:
        """DRF's own read-modify-write of the history (per-process memory: tests, `make run`)."""
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def _allow_in_redis(self, backend) -> bool:
        self.now = self.timer()
        key = backend.make_key(self.key + ":log")  # not the key DRF's pickled list lived under
        pool = backend._cache._get_connection_pool(write=True)  # what get_client() would use
        client = _clients.get(pool)
        if client is None:
            client = _clients.setdefault(pool, backend._cache._client(connection_pool=pool))
        global _script
        if _script is None:
            _script = client.register_script(SLIDING_LOG)
        member = f"{self.now!r}:{os.urandom(6).hex()}"
        count, oldest = _script(keys=[key], args=[repr(self.now), self.duration, self.num_requests, member],
                                client=client)
        if count < 0:
            return True
        # DRF's wait() (Retry-After) reads the window from the history: as many entries, the oldest last
        self.history = [float(oldest)] * count
        return False


class PublicFormThrottle(AnonRateThrottle):
    """Public write endpoints (support requests, event sign-up, lookups): per IP for everyone."""

    scope = "public_form"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
