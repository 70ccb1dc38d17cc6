"""GET /api/v1/delivery/directory/: approved stores only, by brand, category, 동 and name."""
import pytest

from tests.delivery.factories import BrandFactory, OperatorFactory, StoreFactory, StoreListingFactory

pytestmark = pytest.mark.django_db
DIRECTORY = "/api/v1/delivery/directory/"


@pytest.fixture
def town():
    """Two brands and four stores: an approved 평거동 chicken place on both apps, an approved 문산읍
    pizza place on 띵동 only, a pending and a suspended store."""
    smartro, honeybees = OperatorFactory(slug="smartro"), OperatorFactory(slug="honeybees")
    baejin = BrandFactory(name="배달의 진주", operator=smartro)
    ddingdong = BrandFactory(name="띵동", operator=honeybees)
    chicken = StoreFactory(name="남강치킨", category="chicken", dong="평거동")
    StoreListingFactory(store=chicken, operator=smartro, brand=baejin)
    StoreListingFactory(store=chicken, operator=honeybees, brand=ddingdong)
    pizza = StoreFactory(name="문산피자", category="pizza", dong="문산읍", address="경상남도 진주시 문산읍 1")
    StoreListingFactory(store=pizza, operator=honeybees, brand=ddingdong)
    pending = StoreFactory(name="대기치킨", status="pending", approved_at=None)
    StoreListingFactory(store=pending, operator=smartro, brand=baejin)
    suspended = StoreFactory(name="정지치킨", status="suspended")
    StoreListingFactory(store=suspended, operator=smartro, brand=baejin)
    return {"chicken": chicken, "pizza": pizza}


def names(api, **params):
    response = api.get(DIRECTORY, params)
    assert response.status_code == 200, response.json()
    return [s["name"] for s in response.json()["results"]]


def test_only_approved_stores_are_listed_with_their_brands_and_operators(api, town):
    page = api.get(DIRECTORY).json()
    assert page["count"] == 2
    chicken = next(s for s in page["results"] if s["name"] == "남강치킨")
    assert chicken["brands"] == sorted(["배달의 진주", "띵동"])
    assert sorted(chicken["operators"]) == ["honeybees", "smartro"]
    assert chicken["status"] == "approved" and chicken["id"] == town["chicken"].pk


@pytest.mark.parametrize("params, expected", [
    ({"brand": "배달의 진주"}, ["남강치킨"]),
    ({"brand": "띵동"}, ["남강치킨", "문산피자"]),
    ({"category": "pizza"}, ["문산피자"]),
    ({"category": "치킨"}, ["남강치킨"]),
    ({"dong": "문산읍"}, ["문산피자"]),
    ({"dong": "상대동"}, []),
    ({"q": "강치"}, ["남강치킨"]),
    ({"q": "치킨", "brand": "띵동", "dong": "평거동"}, ["남강치킨"]),
    ({"brand": "", "category": ""}, ["남강치킨", "문산피자"]),
])
def test_filters(api, town, params, expected):
    assert names(api, **params) == expected


@pytest.mark.parametrize("params, code", [
    ({"brand": "요기요"}, "invalid_brand"),
    ({"category": "sushi"}, "invalid_category"),
    ({"q": "가" * 51}, "invalid_store_info"),
    ({"dong": "동" * 21}, "invalid_store_info"),
])
def test_bad_filters_are_400(api, town, params, code):
    response = api.get(DIRECTORY, params)
    assert response.status_code == 400 and response.json()["code"] == code


def test_directory_is_paginated(api, town):
    page = api.get(DIRECTORY, {"page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
