"""Today's payments of the shop, a Seoul calendar day: the list, the day's totals, the polled
fragment, and nothing about who paid."""
import datetime as dt

import pytest
import time_machine

from tests.merchant_web.conftest import KST, T0, fund, pay
from vouchers import selectors, services

pytestmark = pytest.mark.clock


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_the_list_shows_time_number_amount_method_status_and_refunded(as_owner, merchant, owner):
    cpm = pay(merchant, 12_000, at=T0 - dt.timedelta(hours=2))
    mpm = pay(merchant, 30_000, at=T0 - dt.timedelta(hours=1), method="mpm")
    whole = pay(merchant, 5_000, at=T0 - dt.timedelta(minutes=30))
    services.refund_merchant_payment(payment_id=mpm.pk, amount=10_000, actor=owner, now=T0 - dt.timedelta(minutes=40))
    services.refund_merchant_payment(payment_id=whole.pk, amount=5_000, actor=owner, now=T0 - dt.timedelta(minutes=20))
    text = as_owner.get("/merchant/").content.decode()
    for payment, time, amount in ((cpm, "12:00:00", "12,000원"), (mpm, "13:00:00", "30,000원"),
                                  (whole, "13:30:00", "5,000원")):
        row = text.split(f'id="payment-{payment.approval_number}"')[1].split("</li>")[0]
        assert time in row and payment.approval_number in row and amount in row
    row = lambda p: text.split(f'id="payment-{p.approval_number}"')[1].split("</li>")[0]  # noqa: E731
    assert "QR 제시" in row(cpm) and "결제 완료" in row(cpm) and "환불" not in row(cpm).replace("결제 완료", "")
    assert "QR 스캔" in row(mpm) and "부분 환불" in row(mpm) and "10,000원" in row(mpm)
    assert "전액 환불" in row(whole)
    # newest first
    assert text.index(whole.approval_number) < text.index(mpm.approval_number) < text.index(cpm.approval_number)
    totals = text.split('id="day-totals"')[1].split("</dl>")[0]
    assert 'id="day-count">3<' in totals and "47,000원" in totals and "15,000원" in totals and "32,000원" in totals


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_an_empty_day_says_so_and_settlements_are_one_honest_sentence(as_cashier):
    text = as_cashier.get("/merchant/").content.decode()
    assert "오늘은 아직 결제가 없습니다." in text
    section = text.split('id="settlements-title"')[1].split("</section>")[0]
    assert section.count("<p") == 1 and "대표(점주) 계정으로 볼 수 있습니다" in section  # the owner's page


@pytest.mark.django_db
def test_today_is_the_seoul_calendar_day_around_midnight_kst(client, merchant, cashier):
    last_second = dt.datetime(2026, 12, 1, 23, 59, 59, tzinfo=KST)  # 14:59:59 UTC: still the 1st in Seoul
    late = pay(merchant, 11_000, at=last_second)
    early = pay(merchant, 22_000, at=last_second + dt.timedelta(seconds=1))  # 00:00:00 KST on the 2nd
    client.force_login(cashier)
    with time_machine.travel(last_second + dt.timedelta(milliseconds=500), tick=False):
        text = client.get("/merchant/").content.decode()
        assert late.approval_number in text and early.approval_number not in text and "2026.12.1" in text
    with time_machine.travel(last_second + dt.timedelta(seconds=1), tick=False):
        text = client.get("/merchant/").content.decode()
        assert early.approval_number in text and late.approval_number not in text and "2026.12.2" in text
        assert "00:00:00" in text
    # a UTC day would have put both on 2026-12-01 (15:00 UTC is Seoul's midnight)
    day = selectors.merchant_day(merchant_id=merchant.pk, now=dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC))
    assert [p.pk for p in day.payments] == [early.pk] and day.paid == 22_000


@pytest.mark.django_db
def test_a_refund_today_of_yesterdays_payment_counts_in_todays_refunds(merchant, owner):
    yesterday = pay(merchant, 20_000, at=T0 - dt.timedelta(days=1))
    services.refund_merchant_payment(payment_id=yesterday.pk, amount=4_000, actor=owner, now=T0)
    day = selectors.merchant_day(merchant_id=merchant.pk, now=T0)
    assert (day.count, day.paid, day.refunded, day.net, day.payments) == (0, 0, 4_000, -4_000, [])


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_the_fragment_is_the_same_list_and_is_never_cached(as_cashier, merchant):
    payment = pay(merchant, 9_000)
    response = as_cashier.get("/merchant/today/fragment/")
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    fragment = response.content.decode()
    assert payment.approval_number in fragment and "9,000원" in fragment and "<html" not in fragment
    page = as_cashier.get("/merchant/").content.decode()
    assert 'data-poll-url="/merchant/today/fragment/"' in page
    assert fragment.strip() in page


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_nothing_about_the_citizen_who_paid_is_shown(as_owner, merchant):
    fund("CI-SECRET-PERSON", 50_000, at=T0 - dt.timedelta(hours=1), name="홍비밀")
    code = services.issue_pay_code(buyer_ci="CI-SECRET-PERSON", actor=None, now=T0 - dt.timedelta(minutes=1))
    payment = services.pay_with_code(pay_code=code.token, amount=7_000, merchant_id=merchant.pk,
                                     actor=merchant.members.get().user, now=T0)
    for url in ("/merchant/", "/merchant/today/fragment/", f"/merchant/payments/{payment.approval_number}/"):
        text = as_owner.get(url).content.decode()
        assert "7,000원" in text
        assert "홍비밀" not in text and "CI-SECRET-PERSON" not in text and code.token not in text
        assert "1980" not in text and "43,000" not in text  # birth year, wallet balance
