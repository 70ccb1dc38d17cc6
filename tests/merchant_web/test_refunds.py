"""Refunds on the merchant pages: the owner only (a cashier sees the payment, no button, and a
forced POST is a Korean 403), two steps, Korean refusals under the amount, one refund per form."""
import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from tests.merchant_web.conftest import T0, make_member, pay
from tests.races import outcomes, race
from vouchers.choices import EventKind
from vouchers.models import MerchantRefund, VoucherEvent, Wallet

pytestmark = pytest.mark.clock


def _nonce(text):
    return re.search(r'name="nonce" value="([^"]+)"', text).group(1)


def _url(payment, tail=""):
    return f"/merchant/payments/{payment.approval_number}/{tail}"


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_the_owner_refunds_part_of_a_payment_in_two_steps(as_owner, owner, merchant):
    payment = pay(merchant, 12_000)
    page = as_owner.get(_url(payment)).content.decode()
    assert 'value="12,000"' in page  # the remaining amount is the default
    step1 = as_owner.post(_url(payment, "refund/"), {"amount": "2,000", "nonce": _nonce(page)})
    confirm = step1.content.decode()
    assert step1.status_code == 200 and "환불 확인" in confirm and "2,000원 환불하기" in confirm
    assert "10,000원" in confirm and not MerchantRefund.objects.exists()  # nothing yet
    done = as_owner.post(_url(payment, "refund/"), {"amount": "2000", "nonce": _nonce(confirm), "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == _url(payment)
    refund = MerchantRefund.objects.get()
    assert (refund.amount, refund.user, refund.idempotency_key.startswith("merchant-refund:")) == (2_000, owner, True)
    payment.refresh_from_db()
    assert (payment.refunded, payment.status) == (2_000, "partially_refunded")
    after = as_owner.get(done["Location"]).content.decode()
    assert "2,000원을 환불했습니다." in after and "부분 환불" in after and 'value="10,000"' in after
    event = VoucherEvent.objects.get(kind=EventKind.PAYMENT_REFUNDED)
    assert event.user == owner and event.merchant == merchant


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_the_whole_remainder_makes_it_a_full_refund_and_the_form_goes(as_owner, merchant):
    payment = pay(merchant, 8_000)
    page = as_owner.get(_url(payment)).content.decode()
    as_owner.post(_url(payment, "refund/"), {"amount": "8,000", "nonce": _nonce(page), "confirm": "1"})
    text = as_owner.get(_url(payment)).content.decode()
    assert "전액 환불" in text and 'id="refund-form"' not in text


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_a_cashier_sees_the_payment_without_the_button_and_a_forced_post_is_a_korean_403(client, merchant):
    cashier = make_member(merchant, "cashier").user
    payment = pay(merchant, 12_000)
    client.force_login(cashier)
    page = client.get(_url(payment)).content.decode()
    assert "12,000원" in page and payment.approval_number in page
    assert 'id="refund-form"' not in page and "환불하기" not in page
    assert "환불은 대표(점주) 계정으로 할 수 있습니다." in page
    for data in ({"amount": "1,000", "nonce": "c" * 24}, {"amount": "1,000", "nonce": "c" * 24, "confirm": "1"}):
        response = client.post(_url(payment, "refund/"), data)
        assert response.status_code == 403
        assert "환불과 직원 계정 추가는 대표(점주) 계정만 할 수 있습니다." in response.content.decode()
    assert not MerchantRefund.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
@pytest.mark.parametrize("amount, confirm, sentence", [
    ("12,001", "", "환불 금액이 남은 결제 금액(12,000원)보다 많습니다."),
    ("12,001", "1", "환불 금액이 남은 결제 금액(12,000원)보다 많습니다."),
    ("0", "", "금액은 1원 이상의 정수(원)여야 합니다."),
    ("-5", "1", "금액은 1원 이상의 정수(원)여야 합니다."),
])
def test_refusals_are_korean_under_the_amount(as_owner, merchant, amount, confirm, sentence):
    payment = pay(merchant, 12_000)
    page = as_owner.get(_url(payment)).content.decode()
    response = as_owner.post(_url(payment, "refund/"), {"amount": amount, "nonce": _nonce(page), "confirm": confirm})
    assert response.status_code in (400, 409)
    errors = response.content.decode().split('id="id_amount-errors"')[1].split("</ul>")[0]
    assert sentence in errors and not MerchantRefund.objects.exists()


@pytest.mark.django_db
def test_past_30_days_the_refund_is_refused_under_the_amount(client, merchant, owner):
    payment = pay(merchant, 12_000, at=T0 - dt.timedelta(days=30, seconds=1))
    client.force_login(owner)
    with time_machine.travel(T0, tick=False):
        page = client.get(_url(payment)).content.decode()
        for confirm in ("", "1"):
            response = client.post(_url(payment, "refund/"), {"amount": "1,000", "nonce": _nonce(page),
                                                              "confirm": confirm})
            errors = response.content.decode().split('id="id_amount-errors"')[1].split("</ul>")[0]
            assert response.status_code == 409 and "결제한 지 30일이 지나 환불할 수 없습니다." in errors
    assert not MerchantRefund.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_the_confirmation_sent_twice_refunds_once(as_owner, merchant):
    payment = pay(merchant, 12_000)
    data = {"amount": "3,000", "nonce": "twice-" + "t" * 20, "confirm": "1"}
    as_owner.post(_url(payment, "refund/"), data)
    again = as_owner.post(_url(payment, "refund/"), data)
    assert again.status_code == 302 and MerchantRefund.objects.count() == 1
    assert "이미 처리된 환불입니다" in as_owner.get(again["Location"]).content.decode()
    payment.refresh_from_db()
    assert payment.refunded == 3_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_one_refund_form_sent_eight_times_at_once_refunds_once(merchant):
    owner = make_member(merchant, "owner").user
    payment = pay(merchant, 12_000, at=dt.datetime.now(dt.UTC))
    clients = []
    for _ in range(8):
        client = Client()
        client.force_login(owner)
        clients.append(client)
    data = {"amount": "1,000", "nonce": "race-" + "r" * 24, "confirm": "1"}
    results = race(lambda c: c.post(_url(payment, "refund/"), data)["Location"], [(c,) for c in clients])
    assert outcomes(results) == ["ok"] * 8 and {v for _, v in results} == {_url(payment)}
    payment.refresh_from_db()
    assert MerchantRefund.objects.count() == 1 and payment.refunded == 1_000
    assert Wallet.objects.get(pk=payment.wallet_id).balance == 24_000 - 12_000 + 1_000
    assert VoucherEvent.objects.filter(kind=EventKind.PAYMENT_REFUNDED).count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("at_t0")
def test_another_shops_payment_cannot_be_refunded_from_here(as_owner, other_merchant):
    theirs = pay(other_merchant, 12_000)
    response = as_owner.post(_url(theirs, "refund/"), {"amount": "1,000", "nonce": "o" * 24, "confirm": "1"})
    assert response.status_code == 404 and "결제 내역을 찾을 수 없습니다." in response.content.decode()
    assert not MerchantRefund.objects.exists()
