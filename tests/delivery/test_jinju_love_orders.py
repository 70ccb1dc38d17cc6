"""Paying a delivery order with Jinju Love: the wallet is debited by food + fee through the vouchers
pay-code payment in the order's transaction, a refusal creates no order, a replay never pays twice, and a
cancel puts the money back (wallet == ledger, invariant 3), on the statement and on its ORM twin."""
import datetime as dt
import json

import pytest

from delivery import selectors, services
from delivery.models import Order
from jinju_portal.errors import ServiceError
from tests.delivery.orders_support import T0, fund, key_of, listed_store, pay_code, report, voucher_store, wallet
from tests.races import outcomes, race
from tests.vouchers.test_payments import assert_payment_invariants
from vouchers.models import MerchantRefund, PayCode, Payment, VoucherEvent, WalletEntry


@pytest.fixture(autouse=True)
def _fresh_lookups():
    selectors.forget_order_lookups()
    yield
    selectors.forget_order_lookups()


@pytest.fixture(params=["sql", "orm"])
def pay_path(request, settings):
    """The vouchers pay-code payment as its one statement and as its ORM twin."""
    settings.VOUCHERS_FAST_SQL = request.param == "sql"
    return request.param


@pytest.fixture
def shop(make_operator, pay_path):
    operator, _http = make_operator("smartro")
    return operator, key_of(operator), voucher_store(operator)


def _refusal(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        fn(*args, **kwargs)
    return refused.value


@pytest.mark.django_db
def test_a_jinju_love_order_debits_food_plus_fee_to_the_stores_merchant_in_its_transaction(shop):
    operator, key, store = shop
    fund("CI-LOVE", 50_000)
    code = pay_code("CI-LOVE")
    order, created = report(key, store, "JL-1", food=18_000, fee=3_000, method="jinju_love", pay_code=code.token)
    order.refresh_from_db()
    payment = Payment.objects.get()
    assert created and order.payment == payment and order.commission == 360  # the fee is not commissionable
    assert (payment.amount, payment.merchant_id, payment.method, payment.api_client) == (
        21_000, store.merchant_id, "pay_code", key)
    assert wallet("CI-LOVE").balance == 29_000
    assert WalletEntry.objects.get(payment=payment).amount == -21_000
    code.refresh_from_db()
    assert code.status == "used"
    assert_payment_invariants()


@pytest.mark.django_db
def test_the_six_digit_short_code_pays_too(shop):
    operator, key, store = shop
    fund("CI-SHORT", 10_000)
    order, _ = report(key, store, food=5_000, fee=0, method="jinju_love", pay_code=pay_code("CI-SHORT").short_code)
    assert order.payment.amount == 5_000 and wallet("CI-SHORT").balance == 5_000


@pytest.mark.django_db
def test_a_short_balance_refuses_the_order_whole_and_leaves_the_code_usable(shop):
    operator, key, store = shop
    fund("CI-POOR", 10_000)
    code = pay_code("CI-POOR")
    refused = _refusal(report, key, store, food=9_000, fee=2_000, method="jinju_love", pay_code=code.token)
    assert (refused.code, refused.status) == ("insufficient_balance", 409)
    assert not Order.objects.exists() and not Payment.objects.exists()
    code.refresh_from_db()
    assert code.status == "active" and wallet("CI-POOR").balance == 10_000
    order, _ = report(key, store, food=8_000, fee=2_000, method="jinju_love", pay_code=code.token)  # exactly enough
    assert wallet("CI-POOR").balance == 0 and order.payment.amount == 10_000
    assert_payment_invariants()


@pytest.mark.django_db
def test_an_unknown_expired_or_used_code_is_invalid_pay_code_and_writes_nothing(shop):
    operator, key, store = shop
    fund("CI-CODE", 50_000)
    expired = pay_code("CI-CODE", at=T0 - dt.timedelta(minutes=4))
    for text in ("NO-SUCH-CODE", "999999", expired.token):
        refused = _refusal(report, key, store, food=1_000, fee=0, method="jinju_love", pay_code=text)
        assert (refused.code, refused.status) == ("invalid_pay_code", 409)
    assert not Order.objects.exists() and not Payment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("merchant", ["none", "not_mobile", "suspended"])
def test_a_store_without_an_approved_mobile_merchant_takes_no_jinju_love(make_operator, pay_path, merchant):
    operator, _http = make_operator("smartro")
    key = key_of(operator)
    store = (listed_store(operator) if merchant == "none" else
             voucher_store(operator, accepts_mobile=False) if merchant == "not_mobile" else
             voucher_store(operator, status="suspended"))
    fund("CI-M", 50_000)
    code = pay_code("CI-M")
    refused = _refusal(report, key, store, food=1_000, method="jinju_love", pay_code=code.token)
    assert (refused.code, refused.status) == ("store_not_voucher_merchant", 409)
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert report(key, store, "CARD", method="card")[1]  # card and cash still fine


@pytest.mark.django_db
def test_a_replay_with_the_spent_code_or_a_new_one_answers_the_first_order_and_pays_once(shop):
    operator, key, store = shop
    fund("CI-REPLAY", 50_000)
    first_code = pay_code("CI-REPLAY")
    first, _ = report(key, store, "R-1", food=10_000, fee=1_000, method="jinju_love", pay_code=first_code.token)
    same, created = report(key, store, "R-1", food=10_000, fee=1_000, method="jinju_love", pay_code=first_code.token)
    assert not created and same.pk == first.pk
    new_code = pay_code("CI-REPLAY", at=T0 + dt.timedelta(seconds=5))
    again, created = report(key, store, "R-1", food=10_000, fee=1_000, method="jinju_love", pay_code=new_code.token)
    assert not created and again.pk == first.pk
    new_code.refresh_from_db()
    assert new_code.status == "active"  # the replay's code was not spent: its payment rolled back
    assert Payment.objects.count() == 1 and wallet("CI-REPLAY").balance == 39_000
    conflict = _refusal(report, key, store, "R-1", food=10_001, fee=1_000, method="jinju_love",
                        pay_code=new_code.token)
    assert conflict.code == "duplicate_external_id"
    assert Payment.objects.count() == 1
    assert_payment_invariants()


@pytest.mark.django_db
def test_a_cancel_credits_food_plus_fee_back_with_a_refund_row_and_its_events(shop):
    operator, key, store = shop
    fund("CI-BACK", 30_000)
    order, _ = report(key, store, "B-1", food=20_000, fee=4_000, method="jinju_love",
                      pay_code=pay_code("CI-BACK").token)
    assert wallet("CI-BACK").balance == 6_000
    later = T0 + dt.timedelta(days=40)  # past a merchant's 30-day refund window: a cancel still refunds
    services.cancel_order(actor=key, order_id=order.pk, reason="배달 불가", now=later)
    services.cancel_order(actor=key, order_id=order.pk, now=later)  # twice: refunded once
    payment = Payment.objects.get()
    assert (payment.refunded, payment.status) == (24_000, "refunded")
    assert wallet("CI-BACK").balance == 30_000
    refund = MerchantRefund.objects.get()
    assert (refund.amount, refund.merchant_id, refund.created_at) == (24_000, store.merchant_id, later)
    assert VoucherEvent.objects.filter(kind="payment_refunded", payment=payment).count() == 1
    assert WalletEntry.objects.filter(payment=payment, kind="refund").get().amount == 24_000
    assert_payment_invariants()


@pytest.mark.django_db
def test_a_cancel_after_the_merchant_refunded_part_gives_back_only_the_rest(shop, make_client):
    from vouchers import services as voucher_services

    operator, key, store = shop
    fund("CI-PART", 30_000)
    order, _ = report(key, store, "P-1", food=20_000, fee=0, method="jinju_love", pay_code=pay_code("CI-PART").token)
    pos, _http = make_client("merchant_pos", merchant_business_number=store.merchant.business_number)
    voucher_services.refund_merchant_payment(payment_id=order.payment_id, amount=5_000, actor=pos, now=T0)
    services.cancel_order(actor=key, order_id=order.pk, now=T0)
    payment = Payment.objects.get()
    assert (payment.refunded, payment.status) == (20_000, "refunded")
    assert sorted(MerchantRefund.objects.values_list("amount", flat=True)) == [5_000, 15_000]
    assert wallet("CI-PART").balance == 30_000
    assert_payment_invariants()


# --- races: real threads, each with its own connection -----------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_replay_race_with_the_same_code_debits_exactly_once(make_operator, pay_path):
    operator, _http = make_operator("smartro")
    key, store = key_of(operator), voucher_store(operator)
    fund("CI-RACE", 100_000)
    code = pay_code("CI-RACE")
    results = race(lambda: report(key, store, "RACE-1", food=30_000, fee=2_000, method="jinju_love",
                                  pay_code=code.token), [()] * 8)
    assert outcomes(results) == ["ok"] * 8, results
    assert len({value[0].pk for _, value in results}) == 1
    assert sorted(value[1] for _, value in results) == [False] * 7 + [True]
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert wallet("CI-RACE").balance == 68_000
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
def test_a_replay_race_with_a_new_code_each_pays_once(make_operator, pay_path):
    """Each retry brings a code of its own wallet: the loser's payment rolls back with it."""
    operator, _http = make_operator("smartro")
    key, store = key_of(operator), voucher_store(operator)
    codes = []
    for i in range(6):
        fund(f"CI-W{i}", 50_000)
        codes.append(pay_code(f"CI-W{i}").token)
    results = race(lambda text: report(key, store, "RACE-2", food=10_000, fee=0, method="jinju_love",
                                       pay_code=text), [(c,) for c in codes])
    assert outcomes(results) == ["ok"] * 6, results
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert sorted(wallet(f"CI-W{i}").balance for i in range(6)) == [40_000] + [50_000] * 5
    assert PayCode.objects.filter(status="used").count() == 1
    assert_payment_invariants()


@pytest.mark.django_db(transaction=True)
def test_parallel_cancels_refund_once(make_operator, pay_path):
    operator, _http = make_operator("smartro")
    key, store = key_of(operator), voucher_store(operator)
    fund("CI-CXL", 50_000)
    order, _ = report(key, store, "CXL", food=10_000, fee=2_000, method="jinju_love", pay_code=pay_code("CI-CXL").token)
    results = race(lambda: services.cancel_order(actor=key, order_id=order.pk, now=T0), [()] * 6)
    assert outcomes(results) == ["ok"] * 6, results
    assert wallet("CI-CXL").balance == 50_000 and MerchantRefund.objects.count() == 1
    assert_payment_invariants()


# --- over HTTP --------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_over_http_a_jinju_love_order_pays_and_its_cancel_credits_back(make_operator, pay_path):
    from django.utils import timezone

    operator, http = make_operator("smartro")
    store = voucher_store(operator)
    now = timezone.now()
    fund("CI-HTTP", 40_000, at=now)
    code = pay_code("CI-HTTP", at=now)
    body = {"store": store.pk, "external_id": "H-1", "food_amount": 15_000, "delivery_fee": 2_500,
            "payment_method": "jinju_love", "ordered_at": now.isoformat(), "pay_code": code.token}
    created = http.post("/api/v1/delivery/orders/", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.json()
    assert wallet("CI-HTTP").balance == 22_500
    replay = http.post("/api/v1/delivery/orders/", data=json.dumps(body), content_type="application/json")
    assert (replay.status_code, replay.json()) == (200, created.json())
    short = http.post("/api/v1/delivery/orders/", content_type="application/json", data=json.dumps(
        {**body, "external_id": "H-2", "food_amount": 30_000, "pay_code": pay_code("CI-HTTP", at=now).token}))
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_balance")
    cancelled = http.post(f"/api/v1/delivery/orders/{created.json()['id']}/cancel/")
    assert cancelled.status_code == 200 and wallet("CI-HTTP").balance == 40_000
    assert Order.objects.count() == 1
    assert_payment_invariants()
