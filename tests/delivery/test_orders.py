"""Reporting orders (invariant 5): the commission and its rounding, the rate of the order's day, the
monthly waiver, who may report, and cancelling."""
import datetime as dt
from decimal import Decimal

import pytest

from delivery import selectors, services
from delivery.models import DeliveryEvent, Order, WaiverUsage
from jinju_portal.errors import ServiceError
from tests.delivery.factories import CommissionContractFactory, OperatorFactory
from tests.delivery.orders_support import KST, T0, key_of, listed_store, report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_lookups():
    selectors.forget_order_lookups()
    yield
    selectors.forget_order_lookups()


@pytest.fixture
def smartro(make_operator):
    operator, _http = make_operator("smartro")
    return operator, key_of(operator)


def _refusal(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        fn(*args, **kwargs)
    return refused.value


# --- commission -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("food, commission", [(1, 0), (49, 0), (50, 1), (99, 1), (12_345, 246), (99_999, 1_999),
                                              (1_000_000, 20_000)])
def test_commission_is_floor_of_food_times_two_percent(smartro, food, commission):
    operator, key = smartro
    store = listed_store(operator)
    order, created = report(key, store, food=food, fee=3_000)
    order.refresh_from_db()
    assert created and (order.commission, order.commission_rate, order.commission_waived) == (
        commission, Decimal("0.0200"), 0)
    assert order.month == "2026-12" and order.status == "placed" and order.api_client == key


def test_the_delivery_fee_is_never_in_the_commission_base(smartro):
    operator, key = smartro
    store = listed_store(operator)
    cheap, _ = report(key, store, "A", food=10_000, fee=0)
    dear, _ = report(key, store, "B", food=10_000, fee=1_000_000)
    assert cheap.commission == dear.commission == 200


def test_a_rate_change_mid_month_applies_by_the_day_the_order_was_placed(smartro):
    operator, key = smartro
    CommissionContractFactory(operator=operator, rate=Decimal("0.0150"), effective_from=dt.date(2026, 12, 15))
    store = listed_store(operator)
    now = dt.datetime(2026, 12, 16, 9, 0, tzinfo=KST)
    on_14th, _ = report(key, store, "D14", food=10_000, at=dt.datetime(2026, 12, 14, 23, 59, 59, tzinfo=KST), now=now)
    on_15th, _ = report(key, store, "D15", food=10_000, at=dt.datetime(2026, 12, 15, 0, 0, tzinfo=KST), now=now)
    # 15:00 UTC on the 14th is already the 15th in Seoul
    utc, _ = report(key, store, "UTC", food=10_000, at=dt.datetime(2026, 12, 14, 15, 0, tzinfo=dt.timezone.utc),
                    now=now)
    assert (on_14th.commission_rate, on_14th.commission) == (Decimal("0.0200"), 200)
    assert (on_15th.commission_rate, on_15th.commission) == (Decimal("0.0150"), 150)
    assert utc.commission_rate == Decimal("0.0150")
    assert on_14th.contract != on_15th.contract


def test_a_new_contract_takes_effect_at_once_and_never_rewrites_orders_already_reported(smartro):
    operator, key = smartro
    store = listed_store(operator)
    before, _ = report(key, store, "BEFORE", food=10_000)
    assert selectors.contract_on(operator.pk, T0.date()).rate == Decimal("0.0200")  # now cached
    CommissionContractFactory(operator=operator, rate=Decimal("0.0100"), effective_from=dt.date(2026, 12, 1))
    after, _ = report(key, store, "AFTER", food=10_000)
    before.refresh_from_db()
    assert (before.commission, after.commission) == (200, 100)


def test_an_order_before_the_first_contract_is_refused(make_operator):
    operator = OperatorFactory(slug="late")
    CommissionContractFactory(operator=operator, effective_from=dt.date(2026, 12, 5))
    make_operator("late")
    store = listed_store(operator)
    refused = _refusal(report, key_of(operator), store, at=dt.datetime(2026, 12, 4, 12, tzinfo=KST))
    assert (refused.code, refused.status) == ("invalid_contract", 400)
    assert not Order.objects.exists()


# --- the waiver ---------------------------------------------------------------------------------------------

@pytest.fixture
def waiving(make_operator):
    """An operator whose contract waives the first 500,000 won of each store's food in a month."""
    operator = OperatorFactory(slug="waiving")
    CommissionContractFactory(operator=operator, waiver_monthly_food=500_000)
    make_operator("waiving")
    return operator, key_of(operator)


def test_the_waiver_covers_the_first_500000_won_of_a_month_an_order_straddling_it_pays_on_the_rest(waiving):
    operator, key = waiving
    store, other = listed_store(operator), listed_store(operator)
    first, _ = report(key, store, "W1", food=300_000)
    straddling, _ = report(key, store, "W2", food=250_000)
    beyond, _ = report(key, store, "W3", food=10_000)
    elsewhere, _ = report(key, other, "W4", food=10_000)  # each store has its own waiver
    assert (first.commission_waived, first.commission) == (300_000, 0)
    assert (straddling.commission_waived, straddling.commission) == (200_000, 1_000)  # 50,000 × 2 %
    assert (beyond.commission_waived, beyond.commission) == (0, 200)
    assert (elsewhere.commission_waived, elsewhere.commission) == (10_000, 0)
    usage = WaiverUsage.objects.get(store=store, operator=operator, month="2026-12")
    assert (usage.waived, usage.waiver_limit) == (500_000, 500_000)


def test_the_waiver_starts_again_next_month(waiving):
    operator, key = waiving
    store = listed_store(operator)
    report(key, store, "DEC", food=600_000, at=dt.datetime(2026, 12, 31, 23, 59, tzinfo=KST),
           now=dt.datetime(2027, 1, 1, 0, 30, tzinfo=KST))
    jan, _ = report(key, store, "JAN", food=600_000, at=dt.datetime(2027, 1, 1, 0, 0, tzinfo=KST),
                    now=dt.datetime(2027, 1, 1, 0, 30, tzinfo=KST))
    assert (jan.month, jan.commission_waived, jan.commission) == ("2027-01", 500_000, 2_000)
    assert dict(WaiverUsage.objects.filter(store=store).values_list("month", "waived")) == {
        "2026-12": 500_000, "2027-01": 500_000}


def test_a_cancel_gives_the_waived_food_back_to_its_month(waiving):
    operator, key = waiving
    store = listed_store(operator)
    first, _ = report(key, store, "C1", food=400_000)
    services.cancel_order(actor=key, order_id=first.pk, now=T0)
    again, _ = report(key, store, "C2", food=450_000)
    assert (again.commission_waived, again.commission) == (450_000, 0)
    assert WaiverUsage.objects.get(store=store, month="2026-12").waived == 450_000


def test_no_waiver_row_is_written_without_a_waiver(smartro):
    operator, key = smartro
    report(key, listed_store(operator), food=10_000)
    assert not WaiverUsage.objects.exists()


# --- who may report what ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["suspended", "withdrawn"])
def test_a_suspended_or_wound_down_operator_reports_no_new_orders(smartro, status):
    operator, key = smartro
    store = listed_store(operator)
    report(key, store, "OK")
    operator.status = status
    operator.save(update_fields=["status"])
    refused = _refusal(report, key, store, "LATE")
    assert (refused.code, refused.status) == ("operator_not_active", 409)
    assert Order.objects.count() == 1


@pytest.mark.parametrize("method", ["card", "jinju_love"])
def test_a_wind_down_committed_by_another_process_stops_orders_at_once(smartro, method):
    """Another process's wind-down reaches this one's cache only after DELIVERY_LOOKUP_CACHE_SECONDS:
    the INSERT's own check of the operator (migration 0003) refuses the order meanwhile, and the
    jinju_love payment made before the INSERT is rolled back with it."""
    from tests.delivery.orders_support import fund, pay_code, voucher_store, wallet

    operator, key = smartro
    store = voucher_store(operator)
    report(key, store, "WARM")  # this process now holds the operator as active
    fund("CI-WOUND-DOWN", 50_000)
    code = pay_code("CI-WOUND-DOWN").token if method == "jinju_love" else None
    type(operator).objects.filter(pk=operator.pk).update(status="withdrawn")  # no signal: as elsewhere
    assert selectors.order_operator(key).status == "active"  # the stale view the service starts from
    refused = _refusal(report, key, store, "AFTER", method=method, pay_code=code)
    assert (refused.code, refused.status) == ("operator_not_active", 409)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["WARM"]
    assert wallet("CI-WOUND-DOWN").balance == 50_000


@pytest.mark.parametrize("status", ["suspended", "withdrawn"])
def test_a_store_suspended_by_another_process_takes_no_order_at_once(smartro, status):
    operator, key = smartro
    store = listed_store(operator)
    report(key, store, "WARM")  # this process now holds the store as approved
    type(store).objects.filter(pk=store.pk).update(status=status)  # no signal: as elsewhere
    refused = _refusal(report, key, store, "AFTER")
    assert (refused.code, refused.status) == ("store_not_active", 409)
    assert list(Order.objects.values_list("external_id", flat=True)) == ["WARM"]


def test_another_operators_store_and_an_unknown_store_are_invalid_store(smartro, make_operator):
    operator, key = smartro
    other, _ = make_operator("aramsol")
    theirs = listed_store(other)
    for store_id in (theirs.pk, theirs.pk + 10_000):
        refused = _refusal(services.report_order, actor=key, store=store_id, external_id="X", food_amount=1_000,
                           delivery_fee=0, payment_method="card", ordered_at=T0.isoformat(), now=T0)
        assert (refused.code, refused.status, list(refused.fields)) == ("invalid_store", 400, ["store"])
    assert not Order.objects.exists()


@pytest.mark.parametrize("status", ["pending", "suspended", "withdrawn"])
def test_a_store_not_approved_takes_no_orders(smartro, status):
    operator, key = smartro
    store = listed_store(operator, status=status, approved_at=T0 if status != "pending" else None)
    refused = _refusal(report, key, store)
    assert (refused.code, refused.status) == ("store_not_active", 409)


def test_a_store_suspended_after_being_cached_is_refused_at_once_in_this_process(smartro):
    operator, key = smartro
    store = listed_store(operator)
    report(key, store, "BEFORE")
    store.status = "suspended"
    store.save(update_fields=["status"])
    assert _refusal(report, key, store, "AFTER").code == "store_not_active"


# --- inputs ------------------------------------------------------------------------------------------------

BAD = [
    ({"store": "1"}, "invalid_store"), ({"store": True}, "invalid_store"), ({"store": None}, "invalid_store"),
    ({"store": 1.0}, "invalid_store"), ({"store": -1}, "invalid_store"), ({"store": 10**30}, "invalid_store"),
    ({"external_id": ""}, "invalid_external_id"), ({"external_id": "x" * 101}, "invalid_external_id"),
    ({"external_id": 12}, "invalid_external_id"), ({"external_id": "a\x00b"}, "invalid_external_id"),
    ({"external_id": None}, "invalid_external_id"), ({"external_id": "a\nb"}, "invalid_external_id"),
    ({"food_amount": 0}, "invalid_amount"), ({"food_amount": -5}, "invalid_amount"),
    ({"food_amount": "12000"}, "invalid_amount"), ({"food_amount": 1.5}, "invalid_amount"),
    ({"food_amount": True}, "invalid_amount"), ({"food_amount": 10**30}, "invalid_amount"),
    ({"food_amount": None}, "invalid_amount"), ({"delivery_fee": -1}, "invalid_amount"),
    ({"delivery_fee": "0"}, "invalid_amount"), ({"delivery_fee": None}, "invalid_amount"),
    ({"delivery_fee": False}, "invalid_amount"), ({"delivery_fee": 10**19}, "invalid_amount"),
    ({"payment_method": "bitcoin"}, "invalid_payment_method"), ({"payment_method": None}, "invalid_payment_method"),
    ({"payment_method": ["card"]}, "invalid_payment_method"), ({"payment_method": "CARD"}, "invalid_payment_method"),
    ({"ordered_at": "yesterday"}, "invalid_ordered_at"), ({"ordered_at": "2026-12-10T11:00:00"}, "invalid_ordered_at"),
    ({"ordered_at": None}, "invalid_ordered_at"), ({"ordered_at": 1765332000}, "invalid_ordered_at"),
    ({"ordered_at": "0001-01-01T00:00:00+14:00"}, "invalid_ordered_at"),
    ({"ordered_at": "2026-12-10T12:06:00+09:00"}, "invalid_ordered_at"),  # 6 minutes ahead
    ({"ordered_at": "2024-12-10T12:00:00+09:00"}, "invalid_ordered_at"),  # two years back
    ({"ordered_at": "2026-09-10T11:59:00+09:00"}, "invalid_ordered_at"),  # 91 days back
    ({"payment_method": "jinju_love"}, "invalid_pay_code"),  # no pay_code
    ({"pay_code": "123456"}, "invalid_pay_code"),  # a pay code with a card
    ({"payment_method": "jinju_love", "pay_code": 123456}, "invalid_pay_code"),
    ({"payment_method": "jinju_love", "pay_code": " 123456"}, "invalid_pay_code"),
]


@pytest.mark.parametrize("change, code", BAD, ids=[f"{i}-{code}" for i, (_, code) in enumerate(BAD)])
def test_bad_input_is_refused_with_its_code_and_writes_nothing(smartro, change, code):
    operator, key = smartro
    store = listed_store(operator)
    body = {"store": store.pk, "external_id": "E-1", "food_amount": 10_000, "delivery_fee": 2_000,
            "payment_method": "card", "ordered_at": (T0 - dt.timedelta(minutes=5)).isoformat(), "pay_code": None,
            **change}
    refused = _refusal(services.report_order, actor=key, now=T0, **body)
    assert (refused.code, refused.status) == (code, 400)
    assert not Order.objects.exists() and not DeliveryEvent.objects.exists()


def test_the_edges_of_the_ordered_at_window_are_accepted(smartro, settings):
    operator, key = smartro
    store = listed_store(operator)
    ahead, _ = report(key, store, "AHEAD", at=T0 + dt.timedelta(minutes=5))
    old, _ = report(key, store, "OLD", at=T0 - dt.timedelta(days=90))
    assert ahead.pk and old.month == "2026-09"
    settings.DELIVERY_MAX_ORDER_AGE_DAYS = 30
    assert _refusal(report, key, store, "OLDER", at=T0 - dt.timedelta(days=31)).code == "invalid_ordered_at"


# --- replays ------------------------------------------------------------------------------------------------

def test_the_same_external_id_with_the_same_body_answers_the_first_order_and_another_body_is_a_conflict(smartro):
    operator, key = smartro
    store = listed_store(operator)
    first, created = report(key, store, "DUP", food=10_000)
    # the same instant written with another offset is the same body
    again, again_created = services.report_order(
        actor=key, store=store.pk, external_id="DUP", food_amount=10_000, delivery_fee=3_000, payment_method="card",
        ordered_at=(T0 - dt.timedelta(minutes=10)).astimezone(dt.timezone.utc).isoformat(), now=T0)
    assert created and not again_created and again.pk == first.pk
    refused = _refusal(report, key, store, "DUP", food=10_001)
    assert (refused.code, refused.status) == ("duplicate_external_id", 409)
    assert Order.objects.count() == 1


def test_two_operators_may_use_the_same_external_id(smartro, make_operator):
    operator, key = smartro
    other, _ = make_operator("honeybiz")
    store = listed_store(operator)
    from tests.delivery.factories import StoreListingFactory

    StoreListingFactory(store=store, operator=other)
    mine, _ = report(key, store, "SAME")
    theirs, created = report(key_of(other), store, "SAME")
    assert created and mine.pk != theirs.pk


# --- cancelling ---------------------------------------------------------------------------------------------

def test_a_cancel_is_recorded_once_and_a_second_cancel_answers_the_cancelled_order(smartro):
    operator, key = smartro
    order, _ = report(key, listed_store(operator))
    later = T0 + dt.timedelta(hours=1)
    cancelled = services.cancel_order(actor=key, order_id=order.pk, reason="고객 요청", now=later)
    again = services.cancel_order(actor=key, order_id=order.pk, now=later + dt.timedelta(hours=1))
    assert (cancelled.status, cancelled.cancelled_at, cancelled.cancel_reason) == ("cancelled", later, "고객 요청")
    assert again.cancelled_at == later
    event = DeliveryEvent.objects.get()
    assert (event.kind, event.order_id, event.operator_id, event.month, event.before, event.note) == (
        "order_cancelled", order.pk, operator.pk, "2026-12", {"status": "placed"}, "고객 요청")
    assert event.actor == f"client:{key.name}"


def test_another_operators_order_cannot_be_cancelled(smartro, make_operator):
    operator, key = smartro
    order, _ = report(key, listed_store(operator))
    other, _ = make_operator("aramsol")
    refused = _refusal(services.cancel_order, actor=key_of(other), order_id=order.pk, now=T0)
    assert (refused.code, refused.status) == ("not_found", 404)
    order.refresh_from_db()
    assert order.status == "placed" and not DeliveryEvent.objects.exists()


def test_a_wound_down_operator_may_still_cancel_its_orders(smartro):
    operator, key = smartro
    order, _ = report(key, listed_store(operator))
    operator.status = "withdrawn"
    operator.save(update_fields=["status"])
    assert services.cancel_order(actor=key, order_id=order.pk, now=T0).status == "cancelled"


def test_an_overlong_cancel_reason_is_refused(smartro):
    operator, key = smartro
    order, _ = report(key, listed_store(operator))
    refused = _refusal(services.cancel_order, actor=key, order_id=order.pk, reason="x" * 201, now=T0)
    assert (refused.code, refused.status) == ("invalid_reason", 400)
