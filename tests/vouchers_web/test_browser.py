"""Real Chromium on a 360 px phone: sign in, verify with the dev verifier, buy through the sandbox."""
import re

import pytest

from tests.vouchers_web.conftest import PASSWORD
from vouchers.models import MonthlyUsage, Purchase, Reservation, Tranche, Wallet

NO_HSCROLL = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def sign_in_and_verify(page, live_server, user):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/vouchers/")
    page.get_by_role("link", name="로그인하고 모바일 상품권 사기").click()
    page.get_by_label("아이디").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(re.compile(r".*/vouchers/verify/\?next=.*"))
    assert "개발용 본인확인 — 실제 본인확인이 아닙니다" in page.locator("#dev-verifier-notice").inner_text()
    page.get_by_label("이름").fill("김진주")
    page.get_by_label("출생 연도").fill("1985")
    page.get_by_label("테스트용 CI(연계정보)").fill("TEST-CI-BROWSER")
    page.get_by_role("button", name="본인확인").click()
    page.wait_for_url(re.compile(r".*/vouchers/buy/$"))
    assert page.locator("#usage-remaining").inner_text() == "300,000원"
    assert page.evaluate(NO_HSCROLL) <= 0


def reserve_and_open_sandbox(page, tranche, amount):
    page.get_by_label("발행 회차").select_option(str(tranche.pk))
    page.get_by_label("구매 금액(액면가)").fill(amount)
    page.get_by_role("button", name="예약하고 결제하기").click()
    page.wait_for_url(re.compile(r".*/vouchers/reservations/\d+/$"))
    assert page.evaluate(NO_HSCROLL) <= 0
    page.get_by_role("button", name=re.compile("결제하기$")).click()
    page.wait_for_url(re.compile(r".*/sandbox/\?ref=.*"))
    assert "테스트 결제(샌드박스)" in page.locator("h1").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("frozen_clock")  # 250,000 left only if the sale and the result page share a month
def test_citizen_buys_50000_won_on_a_phone_and_sees_the_wallet_credited(live_server, page, user, tranche):
    sign_in_and_verify(page, live_server, user)
    reserve_and_open_sandbox(page, tranche, "50,000")
    assert "45,000원" in page.locator("main").inner_text()
    page.get_by_role("button", name="승인").click()
    page.wait_for_url(re.compile(r".*/vouchers/reservations/\d+/$"))
    assert "모바일 지갑에 50,000원이 충전되었습니다." in page.locator("#purchase-result").inner_text()
    assert page.locator("#wallet-balance").inner_text() == "50,000원"
    assert page.locator("#usage-remaining").inner_text() == "250,000원"
    assert page.evaluate(NO_HSCROLL) <= 0
    page.get_by_role("link", name="내 상품권 보기").click()
    assert page.locator("#wallet-balance").inner_text() == "50,000원"
    assert "+50,000원" in page.locator("#ledger").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    purchase = Purchase.objects.get()
    assert (purchase.face_value, purchase.price, purchase.channel) == (50_000, 45_000, "web")
    assert Wallet.objects.get().balance == 50_000


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_failed_sandbox_payment_releases_the_hold(live_server, page, user, tranche):
    sign_in_and_verify(page, live_server, user)
    reserve_and_open_sandbox(page, tranche, "100000")
    assert MonthlyUsage.objects.get().purchased == 100_000  # held while paying
    page.get_by_role("button", name="실패").click()
    page.wait_for_url(re.compile(r".*/vouchers/reservations/\d+/$"))
    assert "결제가 되지 않았습니다" in page.locator("#purchase-result").inner_text()
    assert page.locator("#usage-remaining").inner_text() == "300,000원"
    assert Reservation.objects.get().status == "failed"
    assert Tranche.objects.get().sold == 0 and not Purchase.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("frozen_clock")  # opened at midnight, bought on day 1 (the live server shares this clock)
def test_voucher_pages_fit_a_360px_phone_without_horizontal_scroll(live_server, page, user, citizen):
    from django.utils import timezone

    from tests.vouchers.factories import TrancheFactory
    from vouchers import months, services

    day_one = months.seoul(timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    tranche = TrancheFactory(name="2026년 12월 진주사랑상품권 모바일 정기 발행 (5부제 적용 회차)", quota=8_000_000_000,
                             rotation=True, opens_at=day_one)
    citizen.birth_year = 1986  # 5부제 day 1 admits years ending in 1 or 6
    citizen.save()
    services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=300_000, channel="web", actor=user)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/vouchers/")
    assert "7,999,700,000원" in page.locator("main").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    page.goto(live_server.url + "/accounts/login/?next=/vouchers/my/")
    page.get_by_label("아이디").fill(user.username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(re.compile(r".*/vouchers/my/$"))
    assert page.evaluate(NO_HSCROLL) <= 0
    for path in ("/vouchers/", "/vouchers/buy/"):
        page.goto(live_server.url + path)
        assert page.evaluate(NO_HSCROLL) <= 0, path
