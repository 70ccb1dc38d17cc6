"""POST/GET orders/ and POST orders/{id}/cancel/ over HTTP: the answers of API.md, operator isolation on
every endpoint, and every malformed body a 4xx JSON error that writes nothing."""
import datetime as dt
import json

import pytest
from django.utils import timezone

from delivery import selectors
from delivery.models import DeliveryEvent, Order
from tests.delivery.orders_support import listed_store

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/delivery/orders/"


@pytest.fixture(autouse=True)
def _fresh_lookups():
    selectors.forget_order_lookups()
    yield
    selectors.forget_order_lookups()


def _body(shop, external_id="APP-1", **change):
    return {"store": shop.pk, "external_id": external_id, "food_amount": 12_345, "delivery_fee": 3_000,
            "payment_method": "card", "ordered_at": (timezone.now() - dt.timedelta(minutes=10)).isoformat(), **change}


def _post(http, body, path=ORDERS):
    return http.post(path, data=json.dumps(body), content_type="application/json")


def test_a_report_answers_201_with_the_order_then_200_with_the_same_order_then_409_for_another_body(make_operator):
    operator, http = make_operator("smartro")
    store = listed_store(operator)
    body = _body(store)
    created = _post(http, body)
    assert created.status_code == 201, created.json()
    order = Order.objects.get()
    assert created.json() == {
        "id": order.pk, "store": store.pk, "external_id": "APP-1", "food_amount": 12_345, "delivery_fee": 3_000,
        "payment_method": "card", "ordered_at": timezone.localtime(order.ordered_at).isoformat(),
        "status": "placed", "commission_rate": "0.0200", "commission": 246, "commission_waived": 0,
        "cancelled_at": None}
    replay = _post(http, body)
    assert (replay.status_code, replay.json()) == (200, created.json())
    conflict = _post(http, {**body, "delivery_fee": 3_500})
    assert conflict.status_code == 409 and conflict.json()["code"] == "duplicate_external_id"
    assert "APP-1" in conflict.json()["detail"]
    assert Order.objects.count() == 1


def test_an_order_is_read_and_cancelled_by_its_operator_only(make_operator):
    operator, http = make_operator("smartro")
    _other, other_http = make_operator("aramsol")
    order_id = _post(http, _body(listed_store(operator))).json()["id"]
    assert http.get(f"{ORDERS}{order_id}/").json()["id"] == order_id
    for answer in (other_http.get(f"{ORDERS}{order_id}/"), _post(other_http, {}, f"{ORDERS}{order_id}/cancel/"),
                   http.get(f"{ORDERS}{order_id + 1000}/"), _post(http, {}, f"{ORDERS}{order_id + 1000}/cancel/")):
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert Order.objects.get().status == "placed" and not DeliveryEvent.objects.exists()
    cancelled = _post(http, {"reason": "가게 사정"}, f"{ORDERS}{order_id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"] is not None
    again = _post(http, {}, f"{ORDERS}{order_id}/cancel/")
    assert (again.status_code, again.json()) == (200, cancelled.json())
    assert http.post(f"{ORDERS}{order_id}/cancel/").status_code == 200  # no body at all
    assert DeliveryEvent.objects.filter(kind="order_cancelled").count() == 1


def test_another_operators_store_is_invalid_store_and_the_list_shows_only_ones_own_orders(make_operator):
    operator, http = make_operator("smartro")
    other, other_http = make_operator("aramsol")
    mine, theirs = listed_store(operator), listed_store(other)
    refused = _post(http, _body(theirs))
    assert (refused.status_code, refused.json()["code"], list(refused.json()["fields"])) == (400, "invalid_store",
                                                                                             ["store"])
    _post(http, _body(mine, "M1"))
    _post(http, _body(mine, "M2"))
    _post(other_http, _body(theirs, "T1"))
    cancel_id = Order.objects.get(external_id="M2").pk
    _post(http, {}, f"{ORDERS}{cancel_id}/cancel/")
    page = http.get(ORDERS).json()
    assert page["count"] == 2 and {o["external_id"] for o in page["results"]} == {"M1", "M2"}
    assert [o["external_id"] for o in http.get(ORDERS, {"status": "cancelled"}).json()["results"]] == ["M2"]
    month = Order.objects.get(external_id="M1").month
    assert http.get(ORDERS, {"month": month}).json()["count"] == 2
    assert http.get(ORDERS, {"month": "2001-01"}).json()["count"] == 0
    assert http.get(ORDERS, {"month": "2026-13"}).json()["code"] == "invalid_month"
    assert http.get(ORDERS, {"status": "lost"}).status_code == 400
    assert other_http.get(ORDERS).json()["count"] == 1


def test_only_an_operators_key_reports_orders(make_operator, make_client, api):
    operator, _http = make_operator("smartro")
    store = listed_store(operator)
    _agent, agent_http = make_client("sales_agent")
    assert _post(agent_http, _body(store)).status_code == 403
    assert _post(api, _body(store)).status_code == 401
    assert agent_http.get(ORDERS).status_code == 403
    assert not Order.objects.exists()


def test_a_suspended_operator_is_refused_409_and_a_pending_store_409(make_operator):
    operator, http = make_operator("smartro")
    pending = listed_store(operator, status="pending", approved_at=None)
    assert _post(http, _body(pending)).json()["code"] == "store_not_active"
    operator.status = "suspended"
    operator.save(update_fields=["status"])
    answer = _post(http, _body(listed_store(operator)))
    assert (answer.status_code, answer.json()["code"]) == (409, "operator_not_active")
    assert not Order.objects.exists()


MALFORMED_BODIES = [
    ("not json", "text", 400, "malformed_request"),
    ("[1, 2]", "raw", 400, "malformed_request"),
    ("null", "raw", 400, "malformed_request"),
    ('"order"', "raw", 400, "malformed_request"),
    ("{\"store\": 1,", "raw", 400, "malformed_request"),
    ("{}", "raw", 400, "invalid_store"),
    ({"store": None}, "json", 400, "invalid_store"),
    ({"store": "STORE"}, "json", 400, "invalid_store"),
    ({"store": True}, "json", 400, "invalid_store"),
    ({"store": [1]}, "json", 400, "invalid_store"),
    ({"store": {"id": 1}}, "json", 400, "invalid_store"),
    ({"store": 10**40}, "json", 400, "invalid_store"),
    ({"external_id": ""}, "json", 400, "invalid_external_id"),
    ({"external_id": "x" * 101}, "json", 400, "invalid_external_id"),
    ({"external_id": None}, "json", 400, "invalid_external_id"),
    ({"external_id": 7}, "json", 400, "invalid_external_id"),
    ({"food_amount": "12345"}, "json", 400, "invalid_amount"),
    ({"food_amount": -1}, "json", 400, "invalid_amount"),
    ({"food_amount": 0}, "json", 400, "invalid_amount"),
    ({"food_amount": 12.5}, "json", 400, "invalid_amount"),
    ({"food_amount": True}, "json", 400, "invalid_amount"),
    ({"food_amount": None}, "json", 400, "invalid_amount"),
    ({"food_amount": 10**40}, "json", 400, "invalid_amount"),
    ('{"food_amount": 1e400}', "merge", 400, "invalid_amount"),
    ('{"food_amount": NaN}', "merge", 400, "malformed_request"),
    ({"delivery_fee": "3000"}, "json", 400, "invalid_amount"),
    ({"delivery_fee": -3000}, "json", 400, "invalid_amount"),
    ({"delivery_fee": None}, "json", 400, "invalid_amount"),
    ({"payment_method": "paypal"}, "json", 400, "invalid_payment_method"),
    ({"payment_method": None}, "json", 400, "invalid_payment_method"),
    ({"payment_method": 1}, "json", 400, "invalid_payment_method"),
    ({"ordered_at": "2026-12-01 12:00"}, "json", 400, "invalid_ordered_at"),
    ({"ordered_at": "2999-01-01T00:00:00+09:00"}, "json", 400, "invalid_ordered_at"),
    ({"ordered_at": "2019-01-01T00:00:00+09:00"}, "json", 400, "invalid_ordered_at"),
    ({"ordered_at": 20261201}, "json", 400, "invalid_ordered_at"),
    ({"ordered_at": "x" * 5000}, "json", 400, "invalid_ordered_at"),
    ({"payment_method": "jinju_love"}, "json", 400, "invalid_pay_code"),
    ({"payment_method": "jinju_love", "pay_code": None}, "json", 400, "invalid_pay_code"),
    ({"payment_method": "jinju_love", "pay_code": ""}, "json", 400, "invalid_pay_code"),
    ({"payment_method": "jinju_love", "pay_code": 123456}, "json", 400, "invalid_pay_code"),
    ({"pay_code": "123456"}, "json", 400, "invalid_pay_code"),
    ('{"external_id": "\\ud800"}', "merge", 400, "malformed_request"),
]


@pytest.mark.parametrize("body, kind, status, code", MALFORMED_BODIES,
                         ids=[f"{i}-{code}" for i, (_, _, _, code) in enumerate(MALFORMED_BODIES)])
def test_every_malformed_body_is_a_4xx_json_error_with_its_code_and_writes_nothing(make_operator, body, kind, status,
                                                                                 code):
    operator, http = make_operator("smartro")
    store = listed_store(operator)
    if kind == "json":
        data, content_type = json.dumps(_body(store, **body)), "application/json"
    elif kind == "merge":  # a body json.dumps cannot write: spliced into a valid one
        data, content_type = json.dumps(_body(store))[:-1] + ", " + body[1:], "application/json"
    elif kind == "text":
        data, content_type = body, "text/plain"
    else:
        data, content_type = body, "application/json"
    answer = http.post(ORDERS, data=data, content_type=content_type)
    if kind == "text":
        assert (answer.status_code, answer.json()["code"]) == (415, "unsupported_media_type")
    else:
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.json()
        assert answer["Content-Type"].startswith("application/json")
    assert not Order.objects.exists()


def test_cancel_bodies_that_are_not_objects_or_carry_a_bad_reason_are_4xx(make_operator):
    operator, http = make_operator("smartro")
    order_id = _post(http, _body(listed_store(operator))).json()["id"]
    for data in ("[]", "null", "{", json.dumps({"reason": 5}), json.dumps({"reason": "x" * 201})):
        answer = http.post(f"{ORDERS}{order_id}/cancel/", data=data, content_type="application/json")
        assert 400 <= answer.status_code < 500 and answer.json()["code"] in {"malformed_request", "invalid_reason"}
    assert Order.objects.get().status == "placed"
    assert http.get(f"{ORDERS}abc/").status_code == 404
    assert http.get(f"{ORDERS}{10**30}/").status_code == 404


def test_the_schema_documents_the_order_endpoints_and_their_codes(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    post = schema["paths"]["/api/v1/delivery/orders/"]["post"]
    text = json.dumps(post["responses"])
    for code in ("invalid_store", "duplicate_external_id", "insufficient_balance", "store_not_voucher_merchant",
                 "operator_not_active", "invalid_ordered_at"):
        assert code in text
    assert "/api/v1/delivery/orders/{id}/cancel/" in schema["paths"]
