"""The POS payment's lean WSGI entry (vouchers/api/pos.py): it answers a till's ordinary payment with
the same status, headers and body as Django's view, and hands every other request to Django
untouched, which answers it as before. Real PostgreSQL and Redis, called as gunicorn calls it."""
import datetime as dt
import io
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler

from jinju_portal.services import issue_api_key
from tests.vouchers.factories import MerchantFactory, TrancheFactory
from vouchers import services
from vouchers.api.pos import PATH, LeanPayments
from jinju_portal.models import IdempotencyRecord
from vouchers.models import Payment, Wallet

KST = ZoneInfo("Asia/Seoul")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=KST)

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as under gunicorn


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": f"pos-entry-{uuid.uuid4().hex}"}}
    backend = caches["default"]
    yield backend
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(f"{backend.key_prefix}*"):
        client.delete(key)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=True):
        yield


class Counting:
    """Django's WSGI handler, counting the requests the lean entry handed to it."""

    def __init__(self):
        self.django, self.calls = WSGIHandler(), 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.django(environ, start_response)


@pytest.fixture
def app(redis_cache, clock):
    return LeanPayments(Counting())


@pytest.fixture
def shop():
    merchant = MerchantFactory(accepts_mobile=True)
    _, key = issue_api_key(name="POS", role="merchant_pos", merchant_business_number=merchant.business_number)
    return merchant, key


def _fund(ci, face_value=100_000):
    tranche = TrancheFactory(opens_at=T0 - dt.timedelta(hours=1), quota=10**9)
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=face_value, channel="zeropay_app",
                               now=T0)
    return services.issue_pay_code(buyer_ci=ci, actor=None, now=T0)


def call(app, *, key=None, body=None, raw=None, headers=None, method="POST", path=PATH, query=""):
    """One request as gunicorn hands it over; returns (status code, headers dict, body bytes)."""
    payload = raw if raw is not None else json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": query,
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(payload)),
        "wsgi.input": io.BytesIO(payload), "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    if key is not None:
        environ["HTTP_AUTHORIZATION"] = f"Token {key}"
    environ.update(headers or {})
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = status, response_headers

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return int(started["status"].split()[0]), dict(started["headers"]), content


def ikey():
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def test_an_ordinary_payment_is_answered_by_the_lean_entry_exactly_as_django_answers_it(app, shop, settings):
    merchant, key = shop
    lean_status, lean_headers, lean_body = call(app, key=key, body={"pay_code": _fund("CI-A").token, "amount": 12_000},
                                               headers=ikey())
    assert app.application.calls == 0 and lean_status == 201
    settings.VOUCHERS_LEAN_POS = False
    status, headers, body = call(app, key=key, body={"pay_code": _fund("CI-B").token, "amount": 12_000},
                                 headers=ikey())
    assert app.application.calls == 1 and status == 201
    assert lean_headers == headers  # every header, Content-Length included (same digits)
    lean, django = json.loads(lean_body), json.loads(body)
    assert list(lean) == list(django)  # same fields in the same order
    different = {"id", "approval_number"}
    assert {k: v for k, v in lean.items() if k not in different} == {
        k: v for k, v in django.items() if k not in different} | {"created_at": lean["created_at"]}
    same = (body.replace(django["approval_number"].encode(), lean["approval_number"].encode())
            .replace(django["created_at"].encode(), lean["created_at"].encode())
            .replace(b'"id":%d,' % django["id"], b'"id":%d,' % lean["id"]))
    assert lean_body == same  # byte for byte, as DRF renders it
    payment = Payment.objects.get(pk=lean["id"])
    assert payment.amount == 12_000 and payment.merchant == merchant and payment.idempotency_key
    assert Wallet.objects.get(pk=payment.wallet_id).balance == 88_000


def test_the_same_key_again_is_replayed_by_django_and_another_body_is_422(app, shop):
    _, key = shop
    code, headers = _fund("CI-R"), ikey()
    first = call(app, key=key, body={"pay_code": code.token, "amount": 5_000}, headers=headers)
    again = call(app, key=key, body={"pay_code": code.token, "amount": 5_000}, headers=headers)
    assert first[0] == again[0] == 201 and json.loads(first[2]) == json.loads(again[2])
    assert again[1].get("Idempotent-Replayed") == "true" and app.application.calls == 1
    other = call(app, key=key, body={"pay_code": code.token, "amount": 6_000}, headers=headers)
    assert other[0] == 422 and json.loads(other[2])["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("case, expected, code", [
    ("no key", 401, "not_authenticated"),
    ("unknown key", 401, "authentication_failed"),
    ("sales agent", 403, "permission_denied"),
    ("no idempotency key", 400, "idempotency_key_required"),
    ("bad idempotency key", 400, "invalid_idempotency_key"),
    ("bad amount", 400, "invalid_amount"),
    ("amount as text", 400, "invalid_amount"),
    ("not json", 400, "malformed_request"),
    ("not an object", 400, "malformed_request"),
    ("NaN", 400, "malformed_request"),
    ("form body", 415, "unsupported_media_type"),
    ("unknown code", 409, "invalid_pay_code"),
    ("too much", 409, "insufficient_balance"),
    ("xml accept", 406, "not_acceptable"),
])
def test_everything_but_an_ordinary_payment_goes_to_django_which_answers_as_before(app, shop, make_client, case,
                                                                                     expected, code):
    _, key = shop
    token = _fund("CI-X", 10_000).token
    _, agent_key = issue_api_key(name="bank", role="sales_agent")
    body, raw, headers, use_key = {"pay_code": token, "amount": 1_000}, None, ikey(), key
    if case == "no key":
        use_key = None
    elif case == "unknown key":
        use_key = "not-a-key"
    elif case == "sales agent":
        use_key = agent_key
    elif case == "no idempotency key":
        headers = {}
    elif case == "bad idempotency key":
        headers = {"HTTP_IDEMPOTENCY_KEY": "x" * 300}
    elif case == "bad amount":
        body["amount"] = 0
    elif case == "amount as text":
        body["amount"] = "1000"
    elif case == "not json":
        raw = b"{nope"
    elif case == "not an object":
        raw = b"[1, 2]"
    elif case == "NaN":
        raw = b'{"pay_code": "%s", "amount": 1000, "x": NaN}' % token.encode()
    elif case == "form body":
        headers["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    elif case == "unknown code":
        body["pay_code"] = "0" * 32
    elif case == "too much":
        body["amount"] = 10_001
    elif case == "xml accept":
        headers["HTTP_ACCEPT"] = "application/xml"
    status, _, content = call(app, key=use_key, body=body, raw=raw, headers=headers)
    assert (status, json.loads(content)["code"]) == (expected, code)
    assert app.application.calls == 1 and Payment.objects.count() == 0


@pytest.mark.parametrize("headers", [{"HTTP_ACCEPT_LANGUAGE": "en"}, {"HTTP_COOKIE": "sessionid=x"}])
def test_a_caller_asking_for_another_language_or_sending_cookies_is_django_s(app, shop, headers):
    _, key = shop
    status, response_headers, _ = call(app, key=key, body={"pay_code": _fund("CI-L").token, "amount": 1_000},
                                       headers={**ikey(), **headers})
    assert status == 201 and app.application.calls == 1
    if "HTTP_ACCEPT_LANGUAGE" in headers:
        assert response_headers["Content-Language"] == "en"


def test_korean_first_languages_and_other_paths_methods_and_query_strings(app, shop):
    _, key = shop
    status, headers, _ = call(app, key=key, body={"pay_code": _fund("CI-K").token, "amount": 1_000},
                              headers={**ikey(), "HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert (status, headers["Content-Language"], app.application.calls) == (201, "ko", 0)
    assert call(app, key=key, body={}, method="GET")[0] == 405
    assert call(app, key=key, body={"pay_code": _fund("CI-Q").token, "amount": 1_000}, headers=ikey(),
                query="format=json")[0] == 201
    assert call(app, key=key, body={}, path="/api/v1/vouchers/plans/", method="GET")[0] == 200
    assert app.application.calls == 3


def test_a_request_the_lean_entry_admitted_and_handed_on_is_counted_once_by_the_throttle(app, shop):
    merchant, _ = shop
    _, key = issue_api_key(name="slow POS", role="merchant_pos", merchant_business_number=merchant.business_number,
                           throttle_rate="2/min")
    refused = [call(app, key=key, body={"pay_code": "9" * 32, "amount": 1_000}, headers=ikey()) for _ in range(2)]
    assert [r[0] for r in refused] == [409, 409] and app.application.calls == 2  # admitted once each, by the entry
    status, headers, content = call(app, key=key, body={"pay_code": _fund("CI-T").token, "amount": 1_000},
                                    headers=ikey())
    assert status == 429 and json.loads(content)["code"] == "throttled" and 0 < int(headers["Retry-After"]) <= 60


def test_with_the_cache_in_process_memory_every_payment_goes_through_django(app, shop, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _, key = shop
    status, _, _ = call(app, key=key, body={"pay_code": _fund("CI-M").token, "amount": 1_000}, headers=ikey())
    assert status == 201 and app.application.calls == 1


def test_a_database_failure_inside_the_entry_is_left_to_django(app, shop, monkeypatch):
    _, key = shop
    token = _fund("CI-F").token

    def broken(**kwargs):
        raise RuntimeError("the connection broke")

    monkeypatch.setattr(services, "pay_with_code", broken)
    status, _, _ = call(app, key=key, body={"pay_code": token, "amount": 1_000}, headers=ikey())
    assert status == 500  # Django's own run meets it too, and answers as for any view's failure
    assert app.application.calls == 1 and Payment.objects.count() == 0
