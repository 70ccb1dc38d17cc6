"""The partner API exactly as API.md "Vouchers": shapes, roles, refusals, hostile input."""
import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from jinju_portal.api.idempotency import HEADER
from jinju_portal.models import IdempotencyRecord
from tests.vouchers.factories import IssuancePlanFactory, TrancheFactory
from vouchers.models import Citizen, MonthlyUsage, PaperNote, Purchase, Tranche, Wallet, WalletEntry

pytestmark = [pytest.mark.django_db, pytest.mark.clock]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
BASE = "/api/v1/vouchers"
PURCHASE_KEYS = {"id", "tranche", "medium", "face_value", "price", "status", "created_at", "month",
                 "buyer_month_purchased", "buyer_month_remaining", "serials"}


@pytest.fixture
def agent(make_client):
    return make_client("sales_agent")


@pytest.fixture
def mobile():
    return TrancheFactory(medium="mobile", quota=10_000_000)


@pytest.fixture
def paper():
    return TrancheFactory(medium="paper", quota=10_000_000)


def written():
    return (Citizen.objects.count(), Purchase.objects.count(), MonthlyUsage.objects.count(),
            PaperNote.objects.count(), WalletEntry.objects.count(), Wallet.objects.count(),
            IdempotencyRecord.objects.count(), sum(Tranche.objects.values_list("sold", flat=True)))


def post_purchase(http, body, **kw):
    """A sale as a bank sends it: with an Idempotency-Key (a fresh one unless the test names its own)."""
    kw.setdefault("headers", {HEADER: f"test-{uuid.uuid4()}"})
    return http.post(f"{BASE}/purchases/", body, format="json", **kw)


def test_plans_of_a_year_with_issued_and_sold():
    plan = IssuancePlanFactory(year=2021, medium="paper", planned=6_000_000_000)
    IssuancePlanFactory(year=2021, medium="mobile", planned=19_000_000_000)
    TrancheFactory(medium="paper", quota=2_000_000_000, sold=5_000, plan=plan, month="2021-01")
    from rest_framework.test import APIClient

    answer = APIClient().get(f"{BASE}/plans/?year=2021")
    assert answer.status_code == 200
    assert answer.json() == [
        {"year": 2021, "medium": "mobile", "planned": 19_000_000_000, "issued": 0, "sold": 0},
        {"year": 2021, "medium": "paper", "planned": 6_000_000_000, "issued": 2_000_000_000, "sold": 5_000},
    ]
    for bad in ("21", "abcd", "99999", "２０２１"):
        response = APIClient().get(f"{BASE}/plans/", {"year": bad})
        assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_tranche_list_and_detail_show_remaining_and_is_open(api, mobile):
    closed = TrancheFactory(closes_at=timezone.now() - dt.timedelta(minutes=1),
                            opens_at=timezone.now() - dt.timedelta(days=1), sold=1_000, quota=5_000)
    listing = api.get(f"{BASE}/tranches/").json()
    assert listing["count"] == 2 and {"count", "next", "previous", "results"} <= listing.keys()
    detail = api.get(f"{BASE}/tranches/{closed.pk}/").json()
    assert {k: detail[k] for k in ("quota", "sold", "remaining", "is_open", "discount_rate")} == {
        "quota": 5_000, "sold": 1_000, "remaining": 4_000, "is_open": False, "discount_rate": "0.1000"}
    assert api.get(f"{BASE}/tranches/{mobile.pk}/").json()["is_open"] is True
    assert set(detail) >= {"id", "name", "medium", "opens_at", "closes_at"}


@pytest.mark.parametrize("tail", ["abc/", "99999999/", "1" * 30 + "/", "-1/", "1.5/"])
def test_unknown_or_textual_tranche_in_the_url_is_json_404(api, tail):
    response = api.get(f"{BASE}/tranches/{tail}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_create_tranche_and_others_cannot(make_client, api):
    body = {"name": "2021년 2월 모바일", "medium": "mobile", "quota": 1_000_000_000, "discount_rate": "0.1000",
            "opens_at": "2021-02-01T09:00:00+09:00", "closes_at": "2021-03-01T00:00:00+09:00"}
    assert api.post(f"{BASE}/tranches/", body, format="json").status_code == 401
    _agent, agent_http = make_client("sales_agent")
    assert agent_http.post(f"{BASE}/tranches/", body, format="json").status_code == 403
    _staff, staff_http = make_client("staff")
    created = staff_http.post(f"{BASE}/tranches/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["remaining"] == 1_000_000_000 and created.json()["month"] == "2021-02"
    bad = staff_http.post(f"{BASE}/tranches/", {**body, "closes_at": body["opens_at"]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_period"
    bad = staff_http.post(f"{BASE}/tranches/", {**body, "quota": -5}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_quota"
    assert Tranche.objects.count() == 1


@pytest.mark.usefixtures("frozen_clock")  # the second sale counts the first only within one Seoul month
def test_purchase_answers_exactly_the_api_fields(agent, mobile, paper):
    _client, http = agent
    answer = post_purchase(http, {"tranche": mobile.pk, "buyer_ci": "CI-API", "face_value": 100_000})
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert set(body) == PURCHASE_KEYS
    assert (body["price"], body["serials"], body["status"], body["buyer_month_purchased"],
            body["buyer_month_remaining"]) == (90_000, [], "completed", 100_000, 200_000)
    assert body["created_at"].endswith("+09:00")
    paper_body = post_purchase(http, {"tranche": paper.pk, "buyer_ci": "CI-API", "face_value": 15_000}).json()
    assert len(paper_body["serials"]) == 2 and paper_body["buyer_month_remaining"] == 185_000
    assert Purchase.objects.get(pk=body["id"]).channel == "zeropay_app"
    assert Purchase.objects.get(pk=paper_body["id"]).channel == "branch"
    # detail gives the same shape
    detail = http.get(f"{BASE}/purchases/{paper_body['id']}/").json()
    assert detail["serials"] == paper_body["serials"] and set(detail) == PURCHASE_KEYS


def test_purchase_detail_and_cancel_of_another_client_is_404(make_client, mobile):
    _a, http_a = make_client("sales_agent")
    _b, http_b = make_client("sales_agent")
    body = post_purchase(http_a, {"tranche": mobile.pk, "buyer_ci": "CI-OWN", "face_value": 10_000}).json()
    assert http_b.get(f"{BASE}/purchases/{body['id']}/").status_code == 404
    assert http_b.post(f"{BASE}/purchases/{body['id']}/cancel/").status_code == 404
    assert http_a.get(f"{BASE}/purchases/999999999/").status_code == 404
    cancelled = http_a.post(f"{BASE}/purchases/{body['id']}/cancel/", headers={HEADER: "c-1"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["buyer_month_purchased"] == 0
    again = http_a.post(f"{BASE}/purchases/{body['id']}/cancel/", headers={HEADER: "c-1"})
    assert again.json() == cancelled.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert Tranche.objects.get().sold == 0


def test_purchase_refusals_answer_409_with_their_code(agent, mobile):
    _client, http = agent
    closed = TrancheFactory(opens_at=timezone.now() + dt.timedelta(days=1), closes_at=timezone.now()
                            + dt.timedelta(days=2))
    tiny = TrancheFactory(quota=5_000)
    cases = [
        ({"tranche": closed.pk, "buyer_ci": "CI-R", "face_value": 10_000}, "tranche_not_open"),
        ({"tranche": tiny.pk, "buyer_ci": "CI-R", "face_value": 10_000}, "tranche_sold_out"),
        ({"tranche": mobile.pk, "buyer_ci": "CI-R", "face_value": 301_000}, "monthly_limit_exceeded"),
    ]
    for body, code in cases:
        response = post_purchase(http, body)
        assert (response.status_code, response.json()["code"]) == (409, code)
    assert Purchase.objects.count() == 0


@pytest.mark.usefixtures("frozen_clock")  # "this month" at the sale and at the question
def test_buyer_usage_by_post_only(agent, mobile):
    _client, http = agent
    post_purchase(http, {"tranche": mobile.pk, "buyer_ci": "CI-USAGE", "face_value": 120_000})
    answer = http.post(f"{BASE}/buyers/usage/", {"buyer_ci": "CI-USAGE"}, format="json").json()
    assert (answer["limit"], answer["purchased"], answer["remaining"]) == (300_000, 120_000, 180_000)
    past = http.post(f"{BASE}/buyers/usage/", {"buyer_ci": "CI-USAGE", "month": "2021-01"}, format="json").json()
    assert past == {"month": "2021-01", "limit": 300_000, "purchased": 0, "remaining": 300_000}
    bad_month = http.post(f"{BASE}/buyers/usage/", {"buyer_ci": "CI-USAGE", "month": "2021-13"}, format="json")
    assert (bad_month.status_code, bad_month.json()["code"], list(bad_month.json()["fields"])) == (
        400, "invalid", ["month"])
    assert http.post(f"{BASE}/buyers/usage/", {"buyer_ci": ""}, format="json").json()["code"] == "invalid_buyer"
    assert http.get(f"{BASE}/buyers/usage/").status_code == 405


def test_roles_for_purchases(make_client, api, mobile):
    body = {"tranche": mobile.pk, "buyer_ci": "CI-ROLE", "face_value": 10_000}
    assert post_purchase(api, body).status_code == 401
    _pos, pos_http = make_client("merchant_pos", merchant_business_number="2208162517")
    assert post_purchase(pos_http, body).status_code == 403
    assert Purchase.objects.count() == 0


HOSTILE_BODIES = [
    # (label, body change, code)
    ("zero", {"face_value": 0}, "invalid_face_value"),
    ("negative", {"face_value": -10_000}, "invalid_face_value"),
    ("fractional", {"face_value": 10_000.5}, "invalid_face_value"),
    ("float whole", {"face_value": 10_000.0}, "invalid_face_value"),
    ("string", {"face_value": "10000"}, "invalid_face_value"),
    ("10^30", {"face_value": 10**30}, "invalid_face_value"),
    ("2^63", {"face_value": 2**63}, "invalid_face_value"),
    ("bool", {"face_value": True}, "invalid_face_value"),
    ("null", {"face_value": None}, "invalid_face_value"),
    ("missing", {"face_value": ...}, "invalid_face_value"),
    ("mobile units", {"face_value": 10_500}, "invalid_face_value"),
    ("within bigint, over everything", {"face_value": 2**63 - 1}, "invalid_face_value"),
    ("unknown tranche", {"tranche": 99_999_999}, "invalid_tranche"),
    ("textual tranche", {"tranche": "abc"}, "invalid_tranche"),
    ("numeric-string tranche", {"tranche": "1"}, "invalid_tranche"),
    ("huge tranche", {"tranche": 10**30}, "invalid_tranche"),
    ("negative tranche", {"tranche": -1}, "invalid_tranche"),
    ("empty ci", {"buyer_ci": ""}, "invalid_buyer"),
    ("huge ci", {"buyer_ci": "C" * 201}, "invalid_buyer"),
    ("NUL ci", {"buyer_ci": "CI\x00X"}, "invalid_buyer"),
    ("control ci", {"buyer_ci": "CI\x1bX"}, "invalid_buyer"),
    ("number ci", {"buyer_ci": 12345}, "invalid_buyer"),
    ("list ci", {"buyer_ci": ["CI"]}, "invalid_buyer"),
    ("missing ci", {"buyer_ci": ...}, "invalid_buyer"),
    ("bad birth year", {"buyer_birth_year": "1980"}, "invalid_buyer"),
    ("future birth year", {"buyer_birth_year": 3000}, "invalid_buyer"),
    ("NUL name", {"buyer_name": "홍\x00길동"}, "invalid_buyer"),
]


@pytest.mark.parametrize("label,change,code", HOSTILE_BODIES, ids=[h[0] for h in HOSTILE_BODIES])
def test_hostile_body_is_400_with_its_code_and_writes_nothing(agent, mobile, label, change, code):
    _client, http = agent
    body = {"tranche": mobile.pk, "buyer_ci": "CI-HOSTILE", "face_value": 10_000}
    for key, value in change.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    before = written()
    response = post_purchase(http, body, headers={HEADER: f"hostile-{label}"})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert written() == before


def test_paper_amount_not_in_whole_notes_is_invalid_face_value(agent, paper):
    _client, http = agent
    before = written()
    response = post_purchase(http, {"tranche": paper.pk, "buyer_ci": "CI-P", "face_value": 12_000})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_face_value")
    assert written() == before


def test_rotation_tranche_without_birth_year_is_invalid_buyer_over_http(agent):
    _client, http = agent
    rotating = TrancheFactory(rotation=True)
    before = written()
    response = post_purchase(http, {"tranche": rotating.pk, "buyer_ci": "CI-ROT", "face_value": 10_000})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_buyer")
    assert written() == before


@pytest.mark.parametrize("label,payload,content_type,status,code", [
    ("malformed json", b'{"tranche": 1, "face_value": ', "application/json", 400, "malformed_request"),
    ("non-utf8", b'{"buyer_ci": "\xff\xfe\xfa", "tranche": 1, "face_value": 1000}', "application/json", 400,
     "malformed_request"),
    ("NaN", b'{"tranche": 1, "buyer_ci": "x", "face_value": NaN}', "application/json", 400, "malformed_request"),
    ("json array", b"[1, 2, 3]", "application/json", 400, "malformed_request"),
    ("json string", b'"hello"', "application/json", 400, "malformed_request"),
    ("json null", b"null", "application/json", 400, "malformed_request"),
    ("json number", b"10000", "application/json", 400, "malformed_request"),
    ("truncated utf-8", '{"buyer_ci": "홍'.encode()[:-1], "application/json", 400, "malformed_request"),
    ("byte order mark", b'\xef\xbb\xbf{"tranche": 1}', "application/json", 400, "malformed_request"),
    ("nested too deep", b'{"buyer_ci": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", 400,
     "malformed_request"),
    ("lone surrogate", b'{"tranche": 1, "buyer_ci": "CI-\\ud800", "face_value": 10000}', "application/json", 400,
     "malformed_request"),
    ("form", b"tranche=1&buyer_ci=x&face_value=10000", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    ("multipart", b"--b\r\nContent-Disposition: form-data; name=\"tranche\"\r\n\r\n1\r\n--b--\r\n",
     "multipart/form-data; boundary=b", 415, "unsupported_media_type"),
    ("xml", b"<purchase><tranche>1</tranche></purchase>", "application/xml", 415, "unsupported_media_type"),
    ("multi-megabyte", b'{"buyer_ci": "' + b"A" * (3 * 1024 * 1024) + b'"}', "application/json", 413,
     "request_too_large"),
])
def test_hostile_request_bodies_are_4xx_and_write_nothing(agent, mobile, label, payload, content_type, status, code):
    _client, http = agent
    before = written()
    response = http.generic("POST", f"{BASE}/purchases/", payload, content_type=content_type,
                            headers={HEADER: f"raw-{label}"})
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert HANGUL.search(response.json()["detail"]) and "JSON parse error" not in response.json()["detail"]
    assert written() == before


def test_an_escaped_surrogate_pair_is_text_and_sells(agent, mobile):
    # "\ud55c" style escapes are how many JSON encoders send Korean; a pair (here an emoji) is one character
    _client, http = agent
    payload = b'{"tranche": %d, "buyer_ci": "CI-\\ud55c\\uae00-\\ud83d\\ude00", "face_value": 10000}' % mobile.pk
    response = http.generic("POST", f"{BASE}/purchases/", payload, content_type="application/json",
                            headers={HEADER: "escaped-1"})
    assert response.status_code == 201, response.content


@pytest.fixture(params=["sql", "orm"])
def sale_path(request, settings):
    """The keyed sale settles its key inside the one statement (PostgreSQL) or through the shared decorator."""
    settings.VOUCHERS_FAST_SQL = request.param == "sql"
    return request.param


def test_sale_without_idempotency_key_is_400_and_writes_nothing(agent, mobile, paper, sale_path):
    # a bank that retries a sale without a key would sell twice (API.md Conventions)
    _client, http = agent
    before = written()
    for tranche in (mobile, paper):
        response = http.post(f"{BASE}/purchases/", {"tranche": tranche.pk, "buyer_ci": "CI-NOKEY",
                                                    "face_value": 10_000}, format="json")
        assert response.status_code == 400
        body = response.json()
        assert set(body) == {"code", "detail"} and body["code"] == "idempotency_key_required"
        assert HANGUL.search(body["detail"]) and "Idempotency-Key" in body["detail"]
    assert written() == before


def test_sale_with_a_key_sells_once_on_either_path(agent, mobile, sale_path):
    _client, http = agent
    body = {"tranche": mobile.pk, "buyer_ci": "CI-WITHKEY", "face_value": 10_000}
    first = post_purchase(http, body, headers={HEADER: "with-key-1"})
    again = post_purchase(http, body, headers={HEADER: "with-key-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert Purchase.objects.count() == 1 and Tranche.objects.get(pk=mobile.pk).sold == 10_000


def test_cancel_needs_no_key_it_is_idempotent_by_nature(agent, mobile):
    _client, http = agent
    sold = post_purchase(http, {"tranche": mobile.pk, "buyer_ci": "CI-CANCEL", "face_value": 10_000}).json()
    first = http.post(f"{BASE}/purchases/{sold['id']}/cancel/")
    again = http.post(f"{BASE}/purchases/{sold['id']}/cancel/")
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "cancelled"
    assert Tranche.objects.get(pk=mobile.pk).sold == 0


@pytest.mark.parametrize("key", ["k" * 256, "bad\x00key", "tab\tkey", ""])
def test_bad_idempotency_key_is_400_and_writes_nothing(agent, mobile, key, sale_path):
    _client, http = agent
    before = written()
    response = post_purchase(http, {"tranche": mobile.pk, "buyer_ci": "CI-K", "face_value": 10_000},
                             headers={HEADER: key})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")
    assert written() == before


def test_idempotency_key_replays_and_refuses_another_body(agent, mobile):
    _client, http = agent
    body = {"tranche": mobile.pk, "buyer_ci": "CI-IDEM", "face_value": 10_000}
    first = post_purchase(http, body, headers={HEADER: "k" * 255})
    second = post_purchase(http, body, headers={HEADER: "k" * 255})
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    other = post_purchase(http, {**body, "face_value": 20_000}, headers={HEADER: "k" * 255})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert Purchase.objects.get().idempotency_key == "k" * 255
    # a refusal stores nothing: the same key may be retried after fixing the cause
    refused = post_purchase(http, {**body, "face_value": 400_000}, headers={HEADER: "retry-me"})
    assert refused.status_code == 409
    ok = post_purchase(http, {**body, "face_value": 20_000}, headers={HEADER: "retry-me"})
    assert ok.status_code == 201


def _codes(response) -> set:
    """"Error codes: a, b (note)" -> {"a", "b"}"""
    listed = response["description"].removeprefix("Error codes: ")
    return {c.strip().split(" ")[0] for c in listed.split(",")}


def test_openapi_documents_every_voucher_status_code(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    import yaml  # drf-spectacular serves YAML by default

    doc = yaml.safe_load(schema.content) if not schema["Content-Type"].startswith("application/json") \
        else schema.json()
    paths = doc["paths"]
    purchase = paths["/api/v1/vouchers/purchases/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "413", "415", "422", "429"} <= set(purchase)
    assert "monthly_limit_exceeded" in purchase["409"]["description"]
    cancel = paths["/api/v1/vouchers/purchases/{id}/cancel/"]["post"]["responses"]
    assert {"200", "404", "409", "422"} <= set(cancel)
    sale_key = next(p for p in paths["/api/v1/vouchers/purchases/"]["post"]["parameters"]
                    if p["name"] == "Idempotency-Key")
    assert (sale_key["in"], sale_key["required"]) == ("header", True)
    assert {"idempotency_key_required", "invalid_idempotency_key", "invalid_face_value"} <= _codes(purchase["400"])
    assert "idempotency_key_reused" in _codes(purchase["422"])
    cancel_key = next(p for p in paths["/api/v1/vouchers/purchases/{id}/cancel/"]["post"]["parameters"]
                      if p["name"] == "Idempotency-Key")
    assert cancel_key.get("required", False) is False  # a cancel is idempotent by nature
    assert "invalid_idempotency_key" in _codes(cancel["400"])
    assert "idempotency_key_required" not in _codes(cancel["400"])
    for path in ("/api/v1/vouchers/plans/", "/api/v1/vouchers/tranches/", "/api/v1/vouchers/tranches/{id}/",
                 "/api/v1/vouchers/purchases/{id}/", "/api/v1/vouchers/buyers/usage/"):
        assert path in paths


def test_keyed_sale_on_the_portable_path_uses_the_shared_decorator(agent, mobile, settings):
    settings.VOUCHERS_FAST_SQL = False
    _client, http = agent
    body = {"tranche": mobile.pk, "buyer_ci": "CI-PORTABLE", "face_value": 10_000}
    first = post_purchase(http, body, headers={HEADER: "portable-1"})
    again = post_purchase(http, body, headers={HEADER: "portable-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Purchase.objects.count() == 1
    record = IdempotencyRecord.objects.get(key="portable-1")
    assert record.response_body == first.json()


def test_keyed_sale_stores_exactly_the_answer_it_gave(agent, paper):
    _client, http = agent
    first = post_purchase(http, {"tranche": paper.pk, "buyer_ci": "CI-STORED", "face_value": 25_000},
                          headers={HEADER: "stored-1"})
    assert first.status_code == 201
    record = IdempotencyRecord.objects.get(key="stored-1")
    assert (record.status_code, record.response_body) == (201, first.json())
    assert Purchase.objects.get().idempotency_key == "stored-1"
