"""API clients' throttle with the cache in Redis (as deployed): DRF's sliding-log rule, decided in one
atomic script (jinju_portal/api/throttling.py), on a real Redis."""
import uuid

import pytest
from django.core.cache import caches

from jinju_portal.api.throttling import ApiClientThrottle
from tests.races import race

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.plumbing_urls")]


@pytest.fixture
def redis_cache(settings, redis_url):
    """The default cache in the test Redis, under a prefix of its own (other tests share that Redis)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}"}}
    yield caches["default"]
    backend = caches["default"]
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(f"{backend.key_prefix}*"):
        client.delete(key)


class _Request:
    def __init__(self, client):
        self.auth, self.META = client, {}


def _throttle(at):
    throttle = ApiClientThrottle()
    throttle.timer = lambda: at
    return throttle


def test_over_its_rate_a_client_gets_429_with_retry_after_and_the_log_expires(redis_cache, make_client):
    client, http = make_client("staff", throttle_rate="2/min")
    assert [http.get("/api/v1/test/staff/").status_code for _ in range(3)] == [200, 200, 429]
    response = http.get("/api/v1/test/staff/")
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
    key = redis_cache.make_key(f"throttle_api_client_{client.pk}:log")
    raw = redis_cache._cache.get_client(key)
    assert raw.zcard(key) == 2 and 0 < raw.pttl(key) <= 60_000  # refused requests are not recorded


def test_the_window_slides_as_drfs_entries_at_exactly_the_window_edge_have_expired(redis_cache, make_client):
    client, _ = make_client("merchant_pos", merchant_business_number="220-81-62517", throttle_rate="2/min")
    request, t0 = _Request(client), 1_800_000_000.0
    assert [_throttle(t0 + dt).allow_request(request, None) for dt in (0, 1)] == [True, True]
    late = _throttle(t0 + 59.5)
    assert late.allow_request(request, None) is False
    assert late.wait() == pytest.approx((60 - 59.5) / 1)  # DRF's Retry-After from the oldest entry
    assert _throttle(t0 + 60).allow_request(request, None) is True  # t0 has left the window
    assert _throttle(t0 + 60.5).allow_request(request, None) is False  # t0 + 1 and t0 + 60 are in it
    assert _throttle(t0 + 61).allow_request(request, None) is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_pass_more_than_the_rate(redis_cache, make_client):
    client, _ = make_client("merchant_pos", merchant_business_number="220-81-62517", throttle_rate="10/min")
    request = _Request(client)
    results = race(lambda: ApiClientThrottle().allow_request(request, None), [()] * 30)
    assert sorted(value for _, value in results) == [False] * 20 + [True] * 10, results


def test_unthrottled_roles_touch_no_redis(redis_cache, make_client):
    client, http = make_client("sales_agent")
    assert {http.get("/api/v1/test/ping/").status_code for _ in range(5)} == {200}
    raw = redis_cache._cache.get_client()
    assert not list(raw.scan_iter(f"{redis_cache.key_prefix}*throttle*"))
