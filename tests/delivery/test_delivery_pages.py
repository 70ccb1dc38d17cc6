"""The public pages of delivery: the brands and how to order, the directory, the owner's sign-up and
application, and the owner's status page."""
import pytest
from django.contrib.auth import get_user_model

from delivery import services
from delivery.models import Store
from tests.delivery.factories import (BrandFactory, CommissionContractFactory, OperatorFactory, StoreFactory,
                                      StoreListingFactory)
from tests.vouchers.factories import staff_actor

pytestmark = pytest.mark.django_db
PASSWORD = "jinju-owner-2026"


@pytest.fixture
def brands():
    smartro = OperatorFactory(slug="smartro", name="㈜스마트로")
    honeybees = OperatorFactory(slug="honeybees", name="㈜허니비즈")
    OperatorFactory(slug="aramsolution", name="㈜아람솔루션")
    for operator in (smartro, honeybees):
        CommissionContractFactory(operator=operator)
    return BrandFactory(name="배달의 진주", operator=smartro), BrandFactory(name="띵동", operator=honeybees)


def sign_up(client, **changes):
    data = {"username": "namgang", "password": PASSWORD, "password_again": PASSWORD,
            "business_number": "221-80-90019", "name": "남강치킨", "category": "chicken",
            "address": "경상남도 진주시 평거로 12 (평거동)", "phone": "055-741-1234", **changes}
    return client.post("/delivery/apply/", data)


def test_the_landing_page_shows_the_brands_from_the_registry(client, brands):
    baejin, _ddingdong = brands
    StoreListingFactory(operator=baejin.operator, brand=baejin)
    body = client.get("/delivery/").content.decode()
    assert "배달의 진주" in body and "띵동" in body and "㈜아람솔루션" in body
    assert "운영: ㈜스마트로" in body and "중개수수료 2%" in body
    assert "가맹점 1곳" in body


def test_the_directory_page_filters_by_brand_category_and_dong(client, brands):
    baejin, ddingdong = brands
    StoreListingFactory(store=StoreFactory(name="남강치킨", dong="평거동"), operator=baejin.operator, brand=baejin)
    StoreListingFactory(store=StoreFactory(name="문산피자", category="pizza", dong="문산읍"),
                        operator=ddingdong.operator, brand=ddingdong)
    StoreFactory(name="대기피자", category="pizza", status="pending", approved_at=None)
    body = client.get("/delivery/stores/").content.decode()
    assert "남강치킨" in body and "문산피자" in body and "대기피자" not in body
    body = client.get("/delivery/stores/", {"brand": "띵동"}).content.decode()
    assert "문산피자" in body and "남강치킨" not in body
    body = client.get("/delivery/stores/", {"category": "chicken", "dong": "평거동"}).content.decode()
    assert "남강치킨" in body and "문산피자" not in body
    response = client.get("/delivery/stores/", {"brand": "요기요"})
    assert response.status_code == 400
    response = client.get("/delivery/stores/", {"q": "가" * 60})
    assert response.status_code == 400 and "50자 이하" in response.content.decode()


def test_an_owner_signs_up_applies_and_sees_the_status(client, brands):
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/delivery/my/"
    store = Store.objects.get()
    user = get_user_model().objects.get(username="namgang")
    assert store.owner == user and store.status == "pending" and user.check_password(PASSWORD)
    assert store.listings.count() == 3
    body = client.get("/delivery/my/").content.decode()
    assert "남강치킨" in body and "승인 대기" in body and "㈜스마트로 — 배달의 진주" in body
    services.approve_store(store_id=store.pk, actor=staff_actor())
    services.set_store_status(store_id=store.pk, status="suspended", reason="위생 점검 중", actor=staff_actor())
    body = client.get("/delivery/my/").content.decode()
    assert "정지" in body and "위생 점검 중" in body


@pytest.mark.parametrize("changes, field_message", [
    ({"password": "12345678", "password_again": "12345678"}, "비밀번호"),
    ({"password_again": "different-2026"}, "두 비밀번호가 같지 않습니다."),
    ({"business_number": "221-80-90018"}, "사업자등록번호가 올바르지 않습니다"),
    ({"phone": "전화"}, "전화번호는"),
    ({"username": "bad name!"}, "아이디는"),
])
def test_a_refused_sign_up_says_why_in_korean_and_creates_nothing(client, brands, changes, field_message):
    response = sign_up(client, **changes)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not Store.objects.exists()
    assert not get_user_model().objects.filter(username="namgang").exists()


def test_a_business_already_registered_is_refused_without_an_account(client, brands):
    StoreFactory(business_number="2218090019")
    response = sign_up(client)
    assert response.status_code == 400
    assert "이미 신청된 가맹점이 있습니다" in response.content.decode()
    assert not get_user_model().objects.filter(username="namgang").exists()


def test_a_signed_in_user_applies_without_a_new_account(client, brands):
    user = get_user_model().objects.create_user("owner2", password=PASSWORD)
    client.force_login(user)
    assert "비밀번호 확인" not in client.get("/delivery/apply/").content.decode()
    response = client.post("/delivery/apply/", {"business_number": "221-80-90019", "name": "남강치킨",
                                                "category": "chicken", "address": "경상남도 진주시 평거로 12",
                                                "phone": "055-741-1234"})
    assert response.status_code == 302
    assert Store.objects.get().owner == user


def test_the_status_page_needs_a_sign_in_and_shows_only_ones_own(client, brands):
    assert client.get("/delivery/my/").status_code == 302
    other = get_user_model().objects.create_user("other", password=PASSWORD)
    StoreFactory(name="남의가게", owner=other)
    client.force_login(get_user_model().objects.create_user("me", password=PASSWORD))
    body = client.get("/delivery/my/").content.decode()
    assert "남의가게" not in body and "아직 신청한 가게가 없습니다." in body


def test_the_pages_answer_with_an_empty_registry(client):
    assert "아직 등록된 앱이 없습니다." in client.get("/delivery/").content.decode()
    assert "가맹점 0곳" in client.get("/delivery/stores/").content.decode()
    assert client.get("/delivery/apply/").status_code == 200
