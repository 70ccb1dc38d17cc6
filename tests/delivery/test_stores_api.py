"""POST/GET stores/, stores/{id}/, stores/{id}/approve/ and GET operators/ as API.md "Delivery" writes them."""
import datetime as dt

import pytest

from delivery.models import DeliveryEvent, Store, StoreListing
from tests.delivery.factories import (BrandFactory, CommissionContractFactory, OperatorFactory, StoreFactory,
                                      StoreListingFactory)

pytestmark = pytest.mark.django_db
STORES = "/api/v1/delivery/stores/"


def body(number=None, **changes):
    return {"business_number": number or "221-80-90019", "name": "남강치킨", "category": "치킨",
            "address": "경상남도 진주시 평거로 12 (평거동)", "phone": "055-741-1234", **changes}


@pytest.fixture
def smartro(make_operator):
    operator, http = make_operator("smartro")
    BrandFactory(name="배달의 진주", operator=operator)
    return operator, http


@pytest.fixture
def honeybees(make_operator):
    operator, http = make_operator("honeybees")
    BrandFactory(name="띵동", operator=operator)
    return operator, http


def test_an_application_answers_201_with_the_store_shape(smartro):
    _operator, http = smartro
    response = http.post(STORES, body(brand="배달의 진주"), format="json")
    assert response.status_code == 201, response.json()
    store = Store.objects.get()
    assert response.json() == {
        "id": store.pk, "business_number": "221-80-90019", "name": "남강치킨", "category": "chicken",
        "dong": "평거동", "address": "경상남도 진주시 평거로 12 (평거동)", "phone": "055-741-1234",
        "status": "pending", "brands": ["배달의 진주"], "operators": ["smartro"]}


def test_a_second_operator_gets_201_with_the_same_id_and_the_same_operator_again_200(smartro, honeybees):
    _s, smartro_http = smartro
    _h, honeybees_http = honeybees
    first = smartro_http.post(STORES, body(), format="json").json()
    second = honeybees_http.post(STORES, body(name="딴 이름", brand="띵동"), format="json")
    assert second.status_code == 201 and second.json()["id"] == first["id"]
    assert second.json()["name"] == "남강치킨"
    assert set(second.json()["operators"]) == {"smartro", "honeybees"}
    again = smartro_http.post(STORES, body(name="또 다른 이름"), format="json")
    assert again.status_code == 200 and again.json() == {**second.json()}
    assert Store.objects.count() == 1 and StoreListing.objects.count() == 2


@pytest.mark.parametrize("changes, code", [
    ({"business_number": "221-80-90018"}, "invalid_business_number"),
    ({"business_number": 2218090019}, "invalid_business_number"),
    ({"brand": "띵동"}, "invalid_brand"),
    ({"brand": "없는 브랜드"}, "invalid_brand"),
    ({"category": "스시"}, "invalid_category"),
    ({"name": ""}, "invalid_store_info"),
    ({"address": " "}, "invalid_store_info"),
    ({"category": ""}, "invalid_category"),
    ({"name": 12}, "invalid"),
    ({"name": "가" * 101}, "invalid_store_info"),
    ({"phone": "없음"}, "invalid_store_info"),
    ({"address": None}, "invalid"),
])
def test_bad_input_is_a_400_with_its_code_and_writes_nothing(smartro, honeybees, changes, code):
    _operator, http = smartro
    response = http.post(STORES, body(**changes), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert not Store.objects.exists() and not DeliveryEvent.objects.exists()


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"business_number": {"a": 1}}', b"\xff\xfe"])
def test_malformed_bodies_are_4xx_never_5xx(smartro, raw):
    _operator, http = smartro
    response = http.post(STORES, raw, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert not Store.objects.exists()


def test_only_an_operator_key_applies(api, make_client):
    assert api.post(STORES, body(), format="json").status_code == 401
    _client, sales = make_client("sales_agent")
    assert sales.post(STORES, body(), format="json").status_code == 403
    _client, staff = make_client("staff")
    assert staff.post(STORES, body(), format="json").status_code == 403


def test_an_operator_lists_only_its_own_stores(smartro, honeybees):
    smartro_op, smartro_http = smartro
    honeybees_op, honeybees_http = honeybees
    mine = StoreListingFactory(operator=smartro_op).store
    theirs = StoreListingFactory(operator=honeybees_op).store
    shared = StoreFactory()
    StoreListingFactory(store=shared, operator=smartro_op)
    StoreListingFactory(store=shared, operator=honeybees_op)
    page = smartro_http.get(STORES).json()
    assert page["count"] == 2 and {s["id"] for s in page["results"]} == {mine.pk, shared.pk}
    assert set(page) == {"count", "next", "previous", "results"}
    assert smartro_http.get(f"{STORES}{mine.pk}/").json()["id"] == mine.pk
    response = smartro_http.get(f"{STORES}{theirs.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert honeybees_http.get(f"{STORES}{mine.pk}/").status_code == 404
    assert honeybees_http.get(f"{STORES}{shared.pk}/").status_code == 200
    assert smartro_http.get(f"{STORES}99999999999999999999/").status_code == 404
    assert smartro_http.get(f"{STORES}abc/").status_code == 404


def test_stores_list_is_paginated(smartro):
    operator, http = smartro
    for _ in range(3):
        StoreListingFactory(operator=operator)
    page = http.get(STORES, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_staff_approve_and_an_operator_key_is_403(smartro, staff_http):
    operator, http = smartro
    store = StoreListingFactory(operator=operator, store__status="pending", store__approved_at=None).store
    assert http.post(f"{STORES}{store.pk}/approve/").status_code == 403
    response = staff_http.post(f"{STORES}{store.pk}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    store.refresh_from_db()
    assert store.status == "approved" and store.approved_at is not None
    again = staff_http.post(f"{STORES}{store.pk}/approve/")
    assert again.status_code == 409 and again.json()["code"] == "store_status_conflict"
    assert staff_http.post(f"{STORES}{10**15}/approve/").status_code == 404


@pytest.mark.clock
def test_operators_show_brands_and_the_rate_in_force_today(api):
    smartro = OperatorFactory(slug="smartro", name="㈜스마트로")
    BrandFactory(name="배달의 진주", operator=smartro)
    CommissionContractFactory(operator=smartro, effective_from=dt.date(2021, 3, 1))
    CommissionContractFactory(operator=smartro, effective_from=dt.date(2999, 1, 1), rate="0.0100")
    aram = OperatorFactory(slug="aramsolution", name="㈜아람솔루션")
    CommissionContractFactory(operator=aram, effective_from=dt.date(2021, 3, 1))
    response = api.get("/api/v1/delivery/operators/")
    assert response.status_code == 200
    assert {o["slug"]: o for o in response.json()} == {
        "smartro": {"slug": "smartro", "name": "㈜스마트로", "brands": ["배달의 진주"], "commission_rate": "0.0200",
                    "status": "active"},
        "aramsolution": {"slug": "aramsolution", "name": "㈜아람솔루션", "brands": [], "commission_rate": "0.0200",
                         "status": "active"},
    }


def test_the_schema_documents_the_delivery_codes(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/v1/delivery/stores/"]["post"]
    assert "invalid_brand" in post["responses"]["400"]["description"]
    assert "store_status_conflict" in schema["paths"]["/api/v1/delivery/stores/{id}/approve/"]["post"][
        "responses"]["409"]["description"]
