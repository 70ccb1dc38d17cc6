"""The shop's settlements on its own pages: the owner's list by day with the figures in won, the
status and the masked bank account; the today page's summary; nothing for a cashier or another shop."""
import datetime as dt

import pytest

from tests.vouchers.factories import staff_actor
from tests.vouchers.test_settlements import D, NOW, at, build, exchange, pay, refund
from vouchers import services


@pytest.fixture
def settled(merchant, other_merchant):
    services.set_merchant_bank_account(merchant_id=merchant.pk, bank_code="011", bank_name="농협은행",
                                       account_number="352-0123-4567-89", holder="김진주", actor=staff_actor(), now=NOW)
    p = pay(merchant, 125_000, at(D, 10))
    refund(p, 5_000, at(D, 11))
    exchange(merchant, 30_000, at(D, 12))
    big = pay(merchant, 2_000, at(D + dt.timedelta(days=1), 9))
    refund(p, 20_000, at(D + dt.timedelta(days=1), 10))  # more refunds than payments that day
    pay(other_merchant, 777_000, at(D, 10))
    build(D)
    build(D + dt.timedelta(days=1))
    services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)
    return big


@pytest.mark.django_db
def test_the_owner_sees_each_day_with_its_figures_status_and_the_masked_account(as_owner, settled):
    text = as_owner.get("/merchant/settlements/").content.decode()
    first = text.split('id="settlement-2026-12-01"')[1].split("</tr>")[0]
    assert all(x in first for x in ("125,000원", "5,000원", "30,000원", "150,000원", "2026.12.2", "이체 파일 전송"))
    second = text.split('id="settlement-2026-12-02"')[1].split("</tr>")[0]
    assert "2,000원" in second and "20,000원" in second and "-18,000원은 다음 정산에서 차감" in second
    assert "계산됨" in second and "2026.12.3" in second
    assert text.index("settlement-2026-12-02") < text.index("settlement-2026-12-01")  # newest first
    account = text.split('id="bank-account"')[1].split("</p>")[0]
    assert "농협은행 ***-****-6789" in account and "김진주" in account
    assert "352-0123" not in text and "4567-89" not in text and "777,000원" not in text


@pytest.mark.django_db
def test_the_today_page_shows_the_owner_the_latest_settlements_and_a_cashier_only_a_sentence(
        client, owner, cashier, settled):
    client.force_login(owner)
    text = client.get("/merchant/").content.decode()
    recent = text.split('id="recent-settlements"')[1].split("</ul>")[0]
    assert "150,000원" in recent and "0원" in recent and 'href="/merchant/settlements/"' in text
    client.force_login(cashier)
    text = client.get("/merchant/").content.decode()
    assert "recent-settlements" not in text and "대표(점주) 계정으로 볼 수 있습니다" in text
    response = client.get("/merchant/settlements/")
    assert response.status_code == 403 and "대표(점주)" in response.content.decode()


@pytest.mark.django_db
def test_no_account_and_no_settlements_say_so(as_owner, merchant):
    text = as_owner.get("/merchant/settlements/").content.decode()
    assert "등록된 정산 계좌가 없습니다" in text and 'id="settlements-empty"' in text


@pytest.mark.django_db
def test_a_signed_out_visitor_goes_to_the_login_page(client):
    response = client.get("/merchant/settlements/")
    assert response.status_code == 302 and "login" in response["Location"]
