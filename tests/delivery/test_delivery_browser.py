"""Real headless Chromium on a phone-sized screen: the store directory filtered by brand, category and
동, and a store owner's application from sign-up to the status page."""
import re

import pytest

from delivery import services
from delivery.models import Store
from tests.delivery.factories import BrandFactory, OperatorFactory, StoreFactory, StoreListingFactory
from tests.vouchers.factories import staff_actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NO_HSCROLL = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
PASSWORD = "jinju-owner-2026"


@pytest.fixture
def town():
    smartro, honeybees = OperatorFactory(slug="smartro", name="㈜스마트로"), OperatorFactory(slug="honeybees",
                                                                                         name="㈜허니비즈")
    baejin = BrandFactory(name="배달의 진주", operator=smartro)
    ddingdong = BrandFactory(name="띵동", operator=honeybees)
    for name, category, dong, brands in [("남강치킨", "chicken", "평거동", (baejin, ddingdong)),
                                         ("촉석피자", "pizza", "평거동", (ddingdong,)),
                                         ("문산치킨", "chicken", "문산읍", (baejin,)),
                                         ("비봉족발", "jokbal", "상대동", (baejin, ddingdong))]:
        store = StoreFactory(name=name, category=category, dong=dong, address=f"경상남도 진주시 {dong} 1")
        for brand in brands:
            StoreListingFactory(store=store, operator=brand.operator, brand=brand)
    return baejin, ddingdong


def shown(page):
    return sorted(page.locator("#store-results .vw-merchant-name").all_inner_texts())


def test_the_directory_filtered_by_brand_category_and_dong(live_server, page, town):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/delivery/")
    page.get_by_role("link", name="가맹점 찾기").first.click()
    page.wait_for_url(re.compile(r".*/delivery/stores/$"))
    assert shown(page) == ["남강치킨", "문산치킨", "비봉족발", "촉석피자"]
    page.get_by_label("브랜드").select_option("띵동")
    page.get_by_role("button", name="찾기").click()
    page.wait_for_url(re.compile(r".*brand=.*"))
    assert shown(page) == ["남강치킨", "비봉족발", "촉석피자"]
    page.get_by_label("업종").select_option("chicken")
    page.get_by_role("button", name="찾기").click()
    page.wait_for_url(re.compile(r".*category=chicken.*"))
    assert shown(page) == ["남강치킨"]
    page.get_by_label("브랜드").select_option("배달의 진주")
    page.get_by_label("읍면동").select_option("문산읍")
    page.get_by_role("button", name="찾기").click()
    page.wait_for_url(re.compile(r".*dong=.*"))
    assert shown(page) == ["문산치킨"]
    assert "가맹점 1곳" in page.locator("#results-title").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    page.get_by_role("link", name="조건 지우기").click()
    assert len(shown(page)) == 4


def test_a_store_owner_signs_up_applies_and_follows_the_status(live_server, page, town):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/delivery/")
    page.get_by_role("link", name="가맹 신청하기").click()
    page.wait_for_url(re.compile(r".*/delivery/apply/$"))
    page.get_by_label("아이디").fill("namgang-owner")
    page.get_by_label("비밀번호", exact=True).fill("12345678")
    page.get_by_label("비밀번호 확인").fill("12345678")
    page.get_by_label("사업자등록번호").fill("221-80-90019")
    page.get_by_label("상호").fill("남강족발")
    page.get_by_label("업종").select_option(label="족발·보쌈")
    page.get_by_label("주소").fill("경상남도 진주시 평거로 12 (평거동)")
    page.get_by_label("가게 전화번호").fill("055-741-1234")
    page.get_by_role("button", name="가맹 신청하기").click()
    assert "비밀번호" in page.locator("#id_password-errors").inner_text()  # Django's validators, in Korean
    assert not Store.objects.filter(name="남강족발").exists()
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_label("비밀번호 확인").fill(PASSWORD)
    page.get_by_role("button", name="가맹 신청하기").click()
    page.wait_for_url(re.compile(r".*/delivery/my/$"))
    card = page.locator("section.card").first
    assert card.locator(".store-status").inner_text() == "승인 대기"
    assert "㈜스마트로 — 배달의 진주" in card.locator(".store-listings").inner_text()
    assert "㈜허니비즈 — 띵동" in card.locator(".store-listings").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    store = Store.objects.get(name="남강족발")
    assert store.owner.username == "namgang-owner" and store.dong == "평거동"
    services.approve_store(store_id=store.pk, actor=staff_actor())
    page.reload()
    assert page.locator("section.card .store-status").first.inner_text() == "승인"
    page.goto(live_server.url + "/delivery/stores/?q=남강족발")
    assert shown(page) == ["남강족발"]
