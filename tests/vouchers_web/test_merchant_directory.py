"""가맹점 찾기, the citizen page of the merchant directory: the API's selector behind a form — search
(Korean, partial, typo-tolerant, nearest first), filters, pages, and bad input as Korean messages."""
import re

import pytest
from django.urls import reverse

from tests.vouchers.factories import MerchantCategoryFactory, MerchantFactory

pytestmark = [pytest.mark.django_db]
URL = "/vouchers/merchants/"


@pytest.fixture
def shops():
    food = MerchantCategoryFactory(code="restaurant", name="일반음식점")
    cafe = MerchantCategoryFactory(code="cafe", name="카페·제과점")
    MerchantCategoryFactory(code="gambling", name="사행성 업종", excluded=True, excluded_reason="가맹 제한")
    return {
        "식당": MerchantFactory(name="진주식당", category=food, dong="가좌동", address="경상남도 진주시 진주대로 501"),
        "본점": MerchantFactory(name="진주식당 본점", category=food, dong="평거동", accepts_paper=False),
        "냉면": MerchantFactory(name="하연옥 진주냉면", category=food, dong="이현동", accepts_mobile=False),
        "카페": MerchantFactory(name="남강카페", category=cafe, dong="평거동"),
        "국밥": MerchantFactory(name="중앙시장돼지국밥", category=food, dong="중앙동"),
        "대기": MerchantFactory(name="진주식당 대기점", category=food, dong="문산읍", status="pending"),
    }


def _names(response):
    assert response.status_code == 200, response.content.decode()[:2000]
    return [m.name for m in response.context["page"].object_list]


def _text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_page_lists_approved_merchants_with_category_dong_address_and_badges(client, shops):
    response = client.get(URL)
    assert set(_names(response)) == {"진주식당", "진주식당 본점", "하연옥 진주냉면", "남강카페", "중앙시장돼지국밥"}
    text = _text(response)
    assert "가맹점 5곳" in text and "진주식당 대기점" not in text
    item = re.search(r'<li class="vw-merchant" data-code="%s">(.*?)</li>' % shops["식당"].code, text).group(1)
    assert "진주식당" in item and "일반음식점 · 가좌동" in item and "경상남도 진주시 진주대로 501" in item
    assert "지류" in item and "모바일" in item
    cold = re.search(r'data-code="%s">(.*?)</li>' % shops["냉면"].code, text).group(1)
    assert "vw-paper" in cold and "vw-mobile" not in cold


def test_the_subnav_links_to_the_page(client, shops):
    assert f'href="{reverse("vouchers:merchants")}"' in client.get("/vouchers/").content.decode()


def test_search_is_korean_partial_typo_tolerant_and_nearest_first(client, shops):
    assert _names(client.get(URL, {"q": "진주식당"}))[:2] == ["진주식당", "진주식당 본점"]
    assert _names(client.get(URL, {"q": "국밥"})) == ["중앙시장돼지국밥"]  # two syllables, inside a word
    assert _names(client.get(URL, {"q": "진주싱당"}))[0] == "진주식당"  # one wrong syllable
    assert _names(client.get(URL, {"q": "남강까페"}))[0] == "남강카페"
    assert "찾은 가맹점" in _text(client.get(URL, {"q": "국밥"}))


def test_filters_by_category_dong_and_medium_alone_and_together(client, shops):
    assert _names(client.get(URL, {"category": "cafe"})) == ["남강카페"]
    assert _names(client.get(URL, {"dong": "평거동"})) == ["남강카페", "진주식당 본점"]
    assert "진주식당 본점" not in _names(client.get(URL, {"accepts": "paper"}))
    assert "하연옥 진주냉면" not in _names(client.get(URL, {"accepts": "mobile"}))
    assert _names(client.get(URL, {"q": "진주", "category": "restaurant", "dong": "평거동", "accepts": "mobile"})) == [
        "진주식당 본점"]
    empty = client.get(URL, {"q": "진주", "dong": "중앙동"})
    assert _names(empty) == [] and "조건에 맞는 가맹점이 없습니다" in _text(empty)


def test_the_lists_offer_categories_and_dongs_that_have_approved_merchants(client, shops):
    form = client.get(URL).context["form"]
    assert [code for code, _ in form.fields["category"].widget.choices] == ["", "restaurant", "cafe"]
    dongs = [d for d, _ in form.fields["dong"].choices]
    assert dongs == ["", "가좌동", "이현동", "중앙동", "평거동"]  # 문산읍 has only a pending shop


def test_pages_of_twenty_keep_the_search_in_their_links(client):
    food = MerchantCategoryFactory(code="restaurant", name="일반음식점")
    for n in range(45):
        MerchantFactory(name=f"국밥집 {n:02d}", category=food)
    first = client.get(URL, {"q": "국밥", "category": "restaurant"})
    assert len(_names(first)) == 20 and first.context["page"].paginator.num_pages == 3
    text = first.content.decode()
    assert "1 / 3쪽" in _text(first)
    next_link = re.search(r'<a rel="next" href="([^"]+)"', text).group(1).replace("&amp;", "&")
    assert "page=2" in next_link and "category=restaurant" in next_link and "q=%EA%B5%AD%EB%B0%A5" in next_link
    last = client.get(URL, {"q": "국밥", "category": "restaurant", "page": 3})
    assert len(_names(last)) == 5 and not set(_names(last)) & set(_names(first))


@pytest.mark.parametrize("page, shown, notice", [
    ("abc", 1, "첫 쪽"), ("0", 1, "첫 쪽"), ("-2", 1, "첫 쪽"), ("2.5", 1, "첫 쪽"), ("1" * 5000, 1, "첫 쪽"),
    ("99", 3, "마지막 쪽"), ("99999999999999999999999", 3, "마지막 쪽"),
])
def test_a_bad_page_number_shows_the_first_or_last_page_with_a_korean_notice(client, page, shown, notice):
    food = MerchantCategoryFactory(code="restaurant")
    for n in range(45):
        MerchantFactory(name=f"가게 {n:02d}", category=food)
    response = client.get(URL, {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == shown and notice in response.context["notice"]


@pytest.mark.parametrize("params, message", [
    ({"category": "no_such"}, "없는 업종입니다: no_such"),
    ({"category": "드롭 테이블"}, "없는 업종입니다"),
    ({"dong": "없는동"}, "가맹점이 없는 읍면동입니다"),
    ({"accepts": "cash"}, "상품권 종류는 목록에서 골라 주세요"),
    ({"q": "가" * 51}, "상호는 50자 이하로 입력해 주세요"),
    ({"q": "진주\x07식당"}, "상호에 쓸 수 없는 문자가 있습니다"),
    ({"q": "진주\x00식당"}, "null 문자는 사용할 수 없습니다"),  # Django refuses NUL before our check
])
def test_bad_filters_are_a_400_page_with_the_reason_in_korean(client, shops, params, message):
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in _text(response)
    assert response.context["page"] is None and 'role="alert"' in response.content.decode()


def test_the_page_speaks_english_to_an_english_browser(client, shops):
    response = client.get(URL, {"q": "국밥"}, HTTP_ACCEPT_LANGUAGE="en")
    body = _text(response)
    assert "Find a merchant" in body and "1 merchant found" in body and "Voucher type" in body
    assert "Unknown category" not in body
    bad = client.get(URL, {"page": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "That is not a page number: showing the first page." in _text(bad)


def test_an_empty_directory_says_so(client):
    response = client.get(URL, {"q": "아무거나"})
    assert _names(response) == [] and "조건에 맞는 가맹점이 없습니다" in _text(response)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_on_a_phone_finds_the_shop_despite_a_typo(live_server, page, shops):
    from tests.vouchers_web.test_browser import NO_HSCROLL

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/vouchers/")
    page.get_by_role("link", name="가맹점 찾기").click()
    page.wait_for_url(re.compile(r".*/vouchers/merchants/$"))
    assert page.evaluate(NO_HSCROLL) <= 0
    page.get_by_label("상호").fill("진주싱당")
    page.get_by_label("상품권 종류").select_option("mobile")
    page.get_by_role("button", name="찾기").click()
    page.wait_for_url(re.compile(r".*q=%EC%A7%84%EC%A3%BC%EC%8B%B1%EB%8B%B9.*"))
    first = page.locator(".vw-merchant").first
    assert first.locator(".vw-merchant-name").inner_text() == "진주식당"
    assert "일반음식점 · 가좌동" in first.inner_text() and "모바일" in first.inner_text()
    assert "하연옥 진주냉면" not in page.locator("#merchant-results").inner_text()  # paper only
    assert page.get_by_label("상호").input_value() == "진주싱당"  # the search stays in the box
    assert page.evaluate(NO_HSCROLL) <= 0
