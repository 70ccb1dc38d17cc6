"""Real Chromium on a 390×844 phone: a citizen takes back the rest of a mostly used purchase paid
online (잔액 환불), from 내 상품권 through the confirmation to the result. Screenshots go to /tmp/shots/."""
import re

import pytest

from tests.vouchers_web.test_balance_refund_pages import spend, web_purchase
from tests.vouchers_web.test_browser import NO_HSCROLL
from tests.vouchers_web.test_pay_browser import shot, sign_in
from vouchers.models import PaymentRefund, Wallet


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_refunds_the_rest_of_a_mostly_used_purchase(live_server, page, user, citizen, recording_gateway):
    purchase = web_purchase(citizen, user, 50_000)
    spend(citizen, 35_000)  # 70 %: 15,000 left, 13,500 back at 10 %
    sign_in(page, live_server, user, "/vouchers/my/")
    page.get_by_role("link", name="잔액 환불받기").click()
    page.wait_for_url(re.compile(r".*/vouchers/my/balance-refund/$"))
    row = page.locator(f"#refund-purchase-{purchase.pk}")
    assert "70%" in row.inner_text() and row.locator(".paid-back").inner_text() == "13,500원"
    assert "할인만큼을 뺀 금액" in page.locator("#refund-rule").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    shot(page, "balance-refund-1-confirm")
    button = page.get_by_role("button", name="네, 잔액을 환불받습니다")
    button.dblclick()  # a double tap refunds once
    page.wait_for_url(re.compile(r".*/vouchers/my/balance-refund/done/\?key=.*"))
    assert "13,500원" in page.locator("#refund-summary").inner_text()
    assert page.evaluate(NO_HSCROLL) <= 0
    shot(page, "balance-refund-2-done")
    assert PaymentRefund.objects.count() == 1 and recording_gateway.refunds == [
        (purchase.reservation.payment_reference, 13_500)]
    assert Wallet.objects.get(citizen=citizen).balance == 0
    page.get_by_role("link", name="내 상품권 보기").click()
    assert page.locator("#wallet-balance").inner_text() == "0원"
    assert "잔액 환불" in page.locator("#ledger").inner_text()
