"""Real Chromium on a 390×844 phone at the counter: showing a pay code (CPM) and paying a shop by its
QR page (MPM). Screenshots go to /tmp/shots/ for a person to look at (not kept in the repository)."""
import re
from pathlib import Path

import pytest

from jinju_portal.services import issue_api_key
from tests.vouchers_web.conftest import PASSWORD, fund
from tests.vouchers_web.test_browser import NO_HSCROLL
from vouchers import services
from vouchers.models import PayCode, Payment, Wallet

SHOTS = Path("/tmp/shots")
PHONE = {"width": 390, "height": 844}


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, live_server, user, next_path):
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + next_path)
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
    page.get_by_label("아이디").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(re.compile(".*" + re.escape(next_path) + "$"))




def short_code(page):
    return page.locator("#short-code").inner_text().replace(" ", "")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_shows_a_pay_code_renews_it_and_sees_the_shop_take_it(live_server, page, user, citizen, shop):
    fund(citizen, 42_000)
    sign_in(page, live_server, user, "/vouchers/my/")
    page.get_by_role("link", name="가게에서 결제하기 (결제 코드)").click()
    page.wait_for_url(re.compile(r".*/vouchers/my/pay/$"))
    assert page.locator("#spendable").inner_text() == "42,000원"
    assert not PayCode.objects.exists()  # opening the page issues nothing
    page.get_by_role("button", name="결제 코드 받기").click()
    page.wait_for_url(re.compile(r".*/vouchers/my/pay/$"))

    qr = page.get_by_role("img", name="결제 QR 코드: 가게에서 스캔합니다")
    assert qr.is_visible() and qr.locator("svg").bounding_box()["width"] >= 250
    first = short_code(page)
    assert re.fullmatch(r"\d{6}", first) and page.locator("#short-code").inner_text() == f"{first[:3]} {first[3:]}"
    page.wait_for_function("document.getElementById('pay-countdown').textContent.length > 0")
    before = page.locator("#pay-countdown").inner_text()
    assert re.fullmatch(r"\([23]:\d\d\)", before)
    page.wait_for_function(f"document.getElementById('pay-countdown').textContent !== {before!r}", timeout=3000)
    assert page.evaluate(NO_HSCROLL) <= 0
    shot(page, "cpm-1-pay-code")

    page.get_by_role("button", name="새 코드 받기").click()
    page.wait_for_url(re.compile(r".*/vouchers/my/pay/$"))
    second = short_code(page)
    assert second != first and re.fullmatch(r"\d{6}", second)
    assert list(PayCode.objects.order_by("id").values_list("short_code", "status")) == [
        (first, "voided"), (second, "active")]

    # the shop's till scans it; the page, polling, says so and shows the new balance
    till, _ = issue_api_key(name="진주냉면 POS", role="merchant_pos", merchant_business_number=shop.business_number)
    services.pay_with_code(pay_code=second, amount=12_000, actor=till)
    paid = page.locator("#pay-code-paid-text")
    paid.wait_for(state="visible", timeout=8000)
    assert paid.inner_text() == "결제되었습니다 12,000원 · 진주냉면"
    assert page.locator("#spendable").inner_text() == "30,000원"
    assert not qr.is_visible() and not page.locator("#short-code").is_visible()
    shot(page, "cpm-2-paid")
    page.get_by_role("link", name="영수증 보기").click()
    assert page.locator("#balance-after").inner_text() == "30,000원"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_when_the_three_minutes_are_over_the_code_is_hidden(live_server, page, user, citizen):
    sign_in(page, live_server, user, "/vouchers/my/pay/")
    page.clock.install()  # the page's own clock: three minutes pass in a moment
    page.get_by_role("button", name="결제 코드 받기").click()
    page.wait_for_url(re.compile(r".*/vouchers/my/pay/$"))
    assert page.locator("#pay-qr").is_visible()
    page.clock.fast_forward("03:01")
    expired = page.locator("#pay-code-expired")
    expired.wait_for(state="visible", timeout=5000)
    assert expired.inner_text() == "시간이 지났습니다 — 새 코드를 받아 주세요"
    assert not page.locator("#pay-qr").is_visible() and not page.locator("#short-code").is_visible()
    assert page.get_by_role("button", name="새 코드 받기").is_visible()
    shot(page, "cpm-3-expired")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_pays_a_shop_by_its_qr_page_and_sees_the_balance_drop(live_server, page, user, citizen, shop):
    fund(citizen, 50_000)
    sign_in(page, live_server, user, f"/pay/{shop.code}/")  # the poster's QR, then sign in, then back
    assert page.locator("#shop-name").inner_text() == "진주냉면"
    assert "일반음식점" in page.locator(".vw-shop").inner_text()
    assert page.locator("#spendable").inner_text() == "50,000원"
    page.get_by_label("결제 금액").fill("60,000")
    page.get_by_role("button", name="다음").click()
    assert "지갑 잔액이 부족합니다. 쓸 수 있는 잔액은 50,000원입니다." in page.locator("#id_amount-errors").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    shot(page, "mpm-1-refused")
    page.get_by_label("결제 금액").fill("12,000")
    page.get_by_role("button", name="다음").click()
    assert page.locator("#confirm-title").inner_text() == "진주냉면에 12,000원을 결제합니다"
    assert not Payment.objects.exists()
    assert page.evaluate(NO_HSCROLL) <= 0
    shot(page, "mpm-2-confirm")
    page.get_by_role("button", name="결제", exact=True).click()
    page.wait_for_url(re.compile(r".*/vouchers/my/payments/\d+/$"))
    payment = Payment.objects.get()
    assert page.locator("#approval-number").inner_text() == payment.approval_number
    assert page.locator("#receipt-amount").inner_text() == "12,000원"
    assert page.locator("#balance-after").inner_text() == "38,000원"
    assert page.evaluate(NO_HSCROLL) <= 0
    shot(page, "mpm-3-receipt")
    page.go_back()  # back to the confirm page, and 결제 again: still one payment
    page.get_by_role("button", name="결제", exact=True).click()
    page.wait_for_url(re.compile(r".*/vouchers/my/payments/\d+/$"))
    assert "한 번만 결제되었습니다" in page.locator(".messages").inner_text()
    assert Payment.objects.count() == 1 and Wallet.objects.get(citizen=citizen).balance == 38_000
