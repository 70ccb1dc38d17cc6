"""Invariant 5 under real concurrent transactions: parallel duplicate reports create one order, the
waiver is never over-claimed, and a cancel racing the next report keeps the waiver whole."""
import datetime as dt

import pytest
from django.db.models import Sum

from delivery import selectors, services
from delivery.models import Order, WaiverUsage
from tests.delivery.factories import CommissionContractFactory, OperatorFactory
from tests.delivery.orders_support import T0, key_of, listed_store, report
from tests.races import outcomes, race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_lookups():
    selectors.forget_order_lookups()
    yield
    selectors.forget_order_lookups()


def test_parallel_duplicate_reports_create_one_order_and_all_answer_it(make_operator):
    operator, _http = make_operator("smartro")
    key, store = key_of(operator), listed_store(operator)
    results = race(lambda: report(key, store, "PAR-1", food=12_345), [()] * 10)
    assert outcomes(results) == ["ok"] * 10, results
    assert Order.objects.filter(external_id="PAR-1").count() == 1
    assert len({value[0].pk for _, value in results}) == 1
    assert [value[1] for _, value in results].count(True) == 1
    assert Order.objects.get().commission == 246


def test_parallel_reports_of_one_external_id_with_different_bodies_keep_the_first_and_refuse_the_rest(make_operator):
    operator, _http = make_operator("smartro")
    key, store = key_of(operator), listed_store(operator)
    results = race(lambda food: report(key, store, "PAR-2", food=food), [(10_000 + i,) for i in range(8)])
    assert sorted(outcomes(results)) == ["duplicate_external_id"] * 7 + ["ok"], results
    assert Order.objects.count() == 1


def _waiving_operator(make_operator):
    operator = OperatorFactory(slug="waiving")
    CommissionContractFactory(operator=operator, waiver_monthly_food=100_000)
    make_operator("waiving")
    return operator, key_of(operator)


def test_parallel_reports_never_waive_more_than_the_month_allows(make_operator):
    operator, key = _waiving_operator(make_operator)
    store = listed_store(operator)
    results = race(lambda i: report(key, store, f"WV-{i}", food=30_000), [(i,) for i in range(8)])
    assert outcomes(results) == ["ok"] * 8, results
    waived = Order.objects.aggregate(s=Sum("commission_waived"))["s"]
    assert waived == 100_000 == WaiverUsage.objects.get().waived
    assert sorted(Order.objects.values_list("commission_waived", flat=True)) == [0] * 4 + [10_000] + [30_000] * 3
    for order in Order.objects.all():
        assert order.commission == (order.food_amount - order.commission_waived) * 2 // 100


def test_cancels_racing_reports_keep_the_waiver_equal_to_what_placed_orders_waived(make_operator):
    operator, key = _waiving_operator(make_operator)
    store = listed_store(operator)
    placed = [report(key, store, f"OLD-{i}", food=25_000)[0] for i in range(4)]  # the month's waiver used up
    jobs = [("cancel", o.pk) for o in placed] + [("report", i) for i in range(4)]

    def run(kind, arg):
        if kind == "cancel":
            return services.cancel_order(actor=key, order_id=arg, now=T0 + dt.timedelta(minutes=1))
        return report(key, store, f"NEW-{arg}", food=25_000, now=T0 + dt.timedelta(minutes=1))

    results = race(run, jobs)
    assert outcomes(results) == ["ok"] * 8, results
    live = Order.objects.filter(status="placed").aggregate(s=Sum("commission_waived"))["s"]
    assert WaiverUsage.objects.get().waived == live <= 100_000
