"""Real headless Chromium on a 390 × 844 phone: a cashier's today page shows a payment the moment it
is made, without reloading; the owner refunds part of it and both pages say 부분 환불.
Screenshots go to /tmp/shots/ (not committed)."""
import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.merchant_web.conftest import KST, PASSWORD, make_member, pay, pay_code_for
from vouchers import posters
from vouchers.models import MerchantRefund, Payment

SHOTS = Path("/tmp/shots")
NO_HSCROLL = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def seoul_noon():
    """Noon of today in Seoul, ticking: no payment made here can fall on another day than the page's
    (the live server shares this clock; Chromium's own clock stays real, and the session cookie is
    dated within hours of it)."""
    noon = dt.datetime.combine(timezone.now().astimezone(KST).date(), dt.time(12, 0), tzinfo=KST)
    with time_machine.travel(noon, tick=True) as traveller:
        yield traveller


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate(NO_HSCROLL) <= 0, f"{name}: the page scrolls sideways on a phone"


def sign_in(page, live_server, username):
    page.goto(live_server.url + "/merchant/")
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=/merchant/$"))
    page.get_by_label("아이디").fill(username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(re.compile(r".*/merchant/$"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seoul_noon")
def test_a_payment_appears_on_the_cashiers_page_and_the_owners_partial_refund_follows(live_server, page, browser,
                                                                                      merchant):
    cashier = make_member(merchant, "cashier", "bibim-cashier").user
    make_member(merchant, "owner", "bibim-owner")
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "bibim-cashier")
    expect(page.locator("#no-payments")).to_have_text("오늘은 아직 결제가 없습니다.")
    assert page.locator("#shop-name").inner_text() == "진주 비빔밥"
    page.evaluate("window.__notReloaded = true")
    shot(page, "01-cashier-today-empty")

    # (a) a payment made while the page is open shows up by itself
    payment = pay(merchant, 12_000, at=timezone.now(), actor=cashier)
    row = page.locator(f"#payment-{payment.approval_number}")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("12,000원")
    expect(row).to_contain_text("QR 제시")
    expect(row.locator(".mp-status")).to_have_text("결제 완료")
    expect(page.locator("#day-paid")).to_have_text("12,000원")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "02-cashier-today-payment-arrived")

    # (b) the owner, on another phone, refunds 2,000 of it
    owner_context = browser.new_context(locale="ko-KR", viewport=PHONE)
    owner_page = owner_context.new_page()
    try:
        sign_in(owner_page, live_server, "bibim-owner")
        owner_page.locator(f"#payment-{payment.approval_number} a").click()
        owner_page.wait_for_url(re.compile(rf".*/merchant/payments/{payment.approval_number}/$"))
        assert owner_page.locator("#approval-number").inner_text() == payment.approval_number
        amount = owner_page.get_by_label("환불 금액")
        expect(amount).to_have_value("12,000")  # the remaining amount, by default
        shot(owner_page, "03-owner-payment-receipt")
        amount.fill("2,000")
        owner_page.get_by_role("button", name="환불하기").click()
        expect(owner_page.locator("#refund-amount")).to_have_text("2,000원")
        shot(owner_page, "04-owner-refund-confirm")
        owner_page.get_by_role("button", name="2,000원 환불하기").click()
        owner_page.wait_for_url(re.compile(rf".*/merchant/payments/{payment.approval_number}/$"))
        expect(owner_page.locator("#payment-status")).to_have_text("부분 환불")
        expect(owner_page.locator("#payment-refunded")).to_have_text("2,000원")
        shot(owner_page, "05-owner-after-partial-refund")
    finally:
        owner_context.close()
    assert MerchantRefund.objects.get().amount == 2_000

    # the cashier's page follows, still without reloading
    expect(row.locator(".mp-status")).to_have_text("부분 환불", timeout=15_000)
    expect(page.locator("#day-refunded")).to_have_text("2,000원")
    expect(page.locator("#day-net")).to_have_text("10,000원")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "06-cashier-today-partial-refund")

    # the cashier opens it: no refund button
    row.locator("a").click()
    expect(page.locator("#payment-status")).to_have_text("부분 환불")
    assert page.locator("#refund-form").count() == 0
    shot(page, "07-cashier-payment-no-refund")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seoul_noon")
def test_a_cashier_takes_a_payment_with_a_scanner_style_enter_and_sees_the_receipt(live_server, page, merchant):
    make_member(merchant, "cashier", "bibim-cashier")
    owner = make_member(merchant, "owner", "bibim-owner")
    code = pay_code_for("CI-BROWSER-CPM", 50_000)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "bibim-cashier")
    page.get_by_role("link", name="결제 받기").first.click()
    page.wait_for_url(re.compile(r".*/merchant/pay/$"))
    shot(page, "08-cashier-take-payment")
    page.get_by_label("결제 금액").fill("12,000")
    page.get_by_label("결제 코드").fill(code.token)
    page.get_by_label("결제 코드").press("Enter")  # what a barcode scanner sends after the code
    page.wait_for_url(re.compile(r".*/merchant/payments/\d{10}/$"))
    payment = Payment.objects.get()
    assert page.locator("#approval-number").inner_text() == payment.approval_number
    assert page.locator("#payment-amount").inner_text() == "12,000원"
    assert "결제를 받았습니다." in page.locator(".messages").inner_text()
    shot(page, "09-cashier-receipt")

    page.get_by_role("link", name="결제 조회").click()
    page.get_by_label("승인번호").fill("9999999999")
    page.get_by_role("button", name="조회").click()
    expect(page.locator("#id_number-errors")).to_contain_text("결제 내역을 찾을 수 없습니다.")
    shot(page, "10-cashier-lookup-not-found")

    page.goto(live_server.url + "/merchant/staff/")
    expect(page.locator("#forbidden-reason")).to_contain_text("대표(점주) 계정만")
    shot(page, "11-cashier-staff-forbidden")

    page.context.clear_cookies()
    sign_in(page, live_server, owner.user.username)
    page.get_by_role("link", name="직원 계정").click()
    page.get_by_label("아이디").fill("bibim-new")
    page.get_by_label("비밀번호", exact=True).fill("1234")
    page.get_by_label("비밀번호 확인").fill("1234")
    page.get_by_role("button", name="직원 계정 만들기").click()
    expect(page.locator("#id_password-errors")).to_contain_text("이 비밀번호는 너무 짧습니다.")
    shot(page, "12-owner-staff-weak-password")
    page.get_by_label("비밀번호", exact=True).fill("counter-2026-jinju")
    page.get_by_label("비밀번호 확인").fill("counter-2026-jinju")
    page.get_by_role("button", name="직원 계정 만들기").click()
    expect(page.locator(".messages")).to_contain_text("직원 계정 bibim-new을(를) 만들었습니다.")
    shot(page, "13-owner-staff-added")

    page.goto(live_server.url + "/merchant/")
    shot(page, "14-owner-today")


@pytest.mark.browser
@pytest.mark.django_db
def test_the_svg_poster_renders_with_korean_text(page, merchant):
    page.set_viewport_size({"width": 595, "height": 842})
    page.set_content(f"<body style='margin:0'>{posters.poster_svg(merchant).split('?>', 1)[1]}</body>")
    page.locator("svg").first.evaluate("svg => { svg.setAttribute('width', '595'); "
                                       "svg.setAttribute('height', '842'); }")
    assert "진주 비빔밥" in page.locator("svg").first.inner_html()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "15-poster-svg.png"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_signed_in_citizen_is_told_this_is_no_merchant_account(live_server, page, django_user_model):
    django_user_model.objects.create_user(username="citizen-1", password=PASSWORD)
    page.set_viewport_size(PHONE)
    sign_in_url = live_server.url + "/merchant/"
    page.goto(sign_in_url)
    page.get_by_label("아이디").fill("citizen-1")
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    expect(page.locator("#not-member")).to_have_text("가맹점 계정이 아닙니다")
    shot(page, "16-not-a-merchant")
