"""Monthly statements (invariant 6): marks, close, issued vs draft, adjustments, rebuilds, wind-down,
races; every rule on the set-based SQL path and its ORM twin."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Sum

from delivery import rules, services
from delivery.models import DeliveryEvent, MonthClose, Operator, Order, Statement
from jinju_portal.errors import InvalidInput, NotFound, RuleViolation
from tests.delivery.factories import CommissionContractFactory, OperatorFactory, OrderFactory, StoreFactory
from tests.races import race

pytestmark = [pytest.mark.django_db]
KST = ZoneInfo("Asia/Seoul")


def at(month_day_hour: str) -> dt.datetime:
    """at("2026-10-15 12:00") in Asia/Seoul."""
    return dt.datetime.strptime(month_day_hour, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


OCT_CLOSE = at("2026-11-01 03:00")  # the monthly job's run for October
NOV_CLOSE = at("2026-12-01 03:00")


@pytest.fixture(params=["sql", "orm"])
def path(request, settings):
    """Every rule test runs on the set-based SQL build and on its ORM twin."""
    settings.DELIVERY_FAST_SQL = request.param == "sql"
    return request.param


@pytest.fixture
def op():
    operator = OperatorFactory(slug="smartro")
    CommissionContractFactory(operator=operator)
    return operator


def order(op, store, when, food=20_000, **kw):
    return OrderFactory(operator=op, store=store, ordered_at=at(when), food_amount=food, **kw)


def cancel(o, when):
    Order.objects.filter(pk=o.pk).update(status="cancelled", cancelled_at=at(when) if isinstance(when, str) else when)


def snapshot(month=None):
    rows = Statement.objects.order_by("pk")
    if month:
        rows = rows.filter(month=month)
    return [tuple(r) for r in rows.values_list()]


def figures(store, op, month):
    s = Statement.objects.get(store=store, operator=op, month=month)
    return {name: getattr(s, name) for name in ("status", *rules.STATEMENT_FIGURES)}


def test_a_month_in_progress_is_a_draft_with_now_as_its_mark_and_no_close(path, op):
    store = StoreFactory()
    order(op, store, "2026-10-02 12:00", food=12_345)
    order(op, store, "2026-10-03 12:00", food=10_000)
    result = services.build_statements(month="2026-10", now=at("2026-10-20 10:00"))
    assert result.statuses == {"smartro": "draft"} and result.closed == []
    assert not MonthClose.objects.exists()
    assert figures(store, op, "2026-10") == {
        "status": "draft", "order_count": 2, "food_total": 22_345, "commission": 246 + 200,
        "commercial_commission_low": 1_340, "commercial_commission_high": 2_681,  # floor(1340.7), floor(2681.4)
        "saved_low": 1_340 - 446, "saved_high": 2_681 - 446, "adjustments": 0, "adjustment_count": 0}


def test_an_order_reported_after_the_mark_is_not_in_the_draft(path, op):
    store = StoreFactory()
    order(op, store, "2026-10-02 12:00")
    order(op, store, "2026-10-20 12:00")  # reported after the mark below
    services.build_statements(month="2026-10", now=at("2026-10-10 10:00"))
    assert figures(store, op, "2026-10")["order_count"] == 1


def test_the_first_build_after_the_month_ended_closes_it_and_issues(path, op):
    store = StoreFactory()
    order(op, store, "2026-10-31 11:00")
    order(op, store, "2026-10-31 23:59")  # after the draft's mark, before the close
    services.build_statements(month="2026-10", now=at("2026-10-31 12:00"))
    assert figures(store, op, "2026-10")["status"] == "draft"
    result = services.build_statements(month="2026-10", now=OCT_CLOSE)
    assert result.closed == ["smartro"] and result.statuses == {"smartro": "issued"}
    assert MonthClose.objects.get(operator=op, month="2026-10").closed_at == OCT_CLOSE
    assert figures(store, op, "2026-10")["status"] == "issued"
    assert figures(store, op, "2026-10")["order_count"] == 2
    kinds = list(DeliveryEvent.objects.order_by("id").values_list("kind", "month"))
    assert kinds == [("statements_built", "2026-10"), ("month_closed", "2026-10"), ("statements_built", "2026-10")]


@pytest.mark.parametrize("food,low,high", [(1, 0, 0), (49, 2, 5), (50, 3, 6), (99_999, 5_999, 11_999),
                                           (1_000_000, 60_000, 120_000), (16, 0, 1)])
def test_commercial_commission_is_6_and_12_percent_of_the_food_total_rounded_down(path, op, food, low, high):
    store = StoreFactory()
    order(op, store, "2026-10-05 12:00", food=food)
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    s = Statement.objects.get()
    assert (s.commercial_commission_low, s.commercial_commission_high) == (low, high)
    assert (s.saved_low, s.saved_high) == (low - s.commission, high - s.commission)
    assert rules.commercial_commission(food) == (low, high)


def test_commercial_figures_apply_to_the_summed_food_total_not_order_by_order(path, op):
    store = StoreFactory()
    for _ in range(3):
        order(op, store, "2026-10-05 12:00", food=10)  # 0.6 won each: 0 + 0 + 0 order by order
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    assert Statement.objects.get().commercial_commission_low == 1  # floor(30 × 0.06)


def test_a_rebuild_of_an_issued_month_is_byte_identical_with_or_without_changes_in_between(path, op):
    store, other = StoreFactory(), StoreFactory()
    o1 = order(op, store, "2026-10-02 12:00", food=30_000)
    order(op, store, "2026-10-03 12:00", food=10_000)
    order(op, other, "2026-10-04 12:00", food=50_000)
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    issued = snapshot("2026-10")
    events = DeliveryEvent.objects.count()

    services.build_statements(month="2026-10", now=at("2026-11-02 09:00"))  # nothing new
    assert snapshot("2026-10") == issued and DeliveryEvent.objects.count() == events

    cancel(o1, "2026-11-05 10:00")  # a late cancel
    OrderFactory(operator=op, store=store, ordered_at=at("2026-10-30 12:00"), reported_at=at("2026-11-06 10:00"))
    order(op, other, "2026-10-31 20:00", reported_at=at("2026-11-01 02:00"))  # before the close: already in
    services.build_statements(month="2026-10", now=at("2026-11-10 09:00"))
    assert snapshot("2026-10") == issued
    assert DeliveryEvent.objects.count() == events


def test_a_late_cancellation_adjusts_the_month_it_happened_in_never_the_issued_one(path, op):
    store = StoreFactory()
    o1 = order(op, store, "2026-10-02 12:00", food=30_000)  # commission 600
    order(op, store, "2026-11-02 12:00", food=10_000)       # commission 200
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    cancel(o1, "2026-11-05 10:00")
    services.build_statements(month="2026-10", now=NOV_CLOSE)
    services.build_statements(month="2026-11", now=NOV_CLOSE)
    assert figures(store, op, "2026-10")["commission"] == 600
    nov = figures(store, op, "2026-11")
    assert (nov["commission"], nov["adjustments"], nov["adjustment_count"], nov["order_count"]) == (200, -600, 1, 1)
    assert nov["status"] == "issued"


def test_a_cancellation_before_the_close_is_simply_not_in_the_month(path, op):
    store = StoreFactory()
    o1 = order(op, store, "2026-10-31 23:00", food=30_000)
    order(op, store, "2026-10-02 12:00", food=10_000)
    cancel(o1, "2026-11-01 01:00")  # after the month, before its close at 03:00
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    services.build_statements(month="2026-11", now=NOV_CLOSE)
    assert figures(store, op, "2026-10")["commission"] == 200
    assert not Statement.objects.filter(month="2026-11").exists()


def test_a_late_report_counts_positive_in_the_month_it_arrived(path, op):
    store = StoreFactory()
    order(op, store, "2026-10-02 12:00", food=10_000)
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    OrderFactory(operator=op, store=store, ordered_at=at("2026-10-31 22:00"), food_amount=25_000,
                 reported_at=at("2026-11-03 09:00"))  # the app was offline
    services.build_statements(month="2026-10", now=NOV_CLOSE)
    services.build_statements(month="2026-11", now=NOV_CLOSE)
    assert figures(store, op, "2026-10")["order_count"] == 1
    nov = figures(store, op, "2026-11")  # a store with only adjustments in November still gets a statement
    assert (nov["order_count"], nov["commission"], nov["adjustments"], nov["adjustment_count"]) == (0, 0, 500, 1)


def test_a_late_report_cancelled_in_the_same_month_nets_out(path, op):
    store = StoreFactory()
    order(op, store, "2026-10-02 12:00")
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    late = OrderFactory(operator=op, store=store, ordered_at=at("2026-10-31 22:00"), reported_at=at("2026-11-03 09:00"))
    cancel(late, "2026-11-04 09:00")
    services.build_statements(month="2026-11", now=NOV_CLOSE)
    nov = figures(store, op, "2026-11")
    assert (nov["adjustments"], nov["adjustment_count"]) == (0, 2)


def test_a_cancel_in_a_later_month_of_a_month_not_yet_closed_is_no_adjustment(path, op):
    """October never built: its orders are October's when it is, not November's adjustments."""
    store = StoreFactory()
    o1 = order(op, store, "2026-10-02 12:00")
    cancel(o1, "2026-11-05 10:00")
    services.build_statements(month="2026-11", now=NOV_CLOSE)
    assert not Statement.objects.filter(month="2026-11").exists()
    services.build_statements(month="2026-10", now=at("2026-12-02 10:00"))
    assert not Statement.objects.filter(month="2026-10").exists()  # its only order was cancelled by the mark


def test_a_draft_is_rebuilt_freely_and_kept_at_zero_when_everything_is_cancelled(path, op):
    store = StoreFactory()
    o1 = order(op, store, "2026-10-02 12:00")
    services.build_statements(month="2026-10", now=at("2026-10-05 10:00"))
    order(op, store, "2026-10-06 12:00")
    services.build_statements(month="2026-10", now=at("2026-10-07 10:00"))
    assert figures(store, op, "2026-10")["order_count"] == 2
    Order.objects.filter(pk=o1.pk).update(status="cancelled", cancelled_at=at("2026-10-08 10:00"))
    Order.objects.exclude(pk=o1.pk).update(status="cancelled", cancelled_at=at("2026-10-08 11:00"))
    result = services.build_statements(month="2026-10", now=at("2026-10-09 10:00"))
    assert result.emptied == 1
    f = figures(store, op, "2026-10")
    assert (f["status"], f["order_count"], f["commission"], f["saved_high"]) == ("draft", 0, 0, 0)
    before = snapshot()
    services.build_statements(month="2026-10", now=at("2026-10-09 11:00"))
    assert snapshot() == before


def test_each_operator_sees_its_own_orders_at_a_shared_store(path, op):
    other = OperatorFactory(slug="aram")
    store = StoreFactory()
    order(op, store, "2026-10-02 12:00", food=10_000)
    order(other, store, "2026-10-02 12:00", food=30_000)
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    assert figures(store, op, "2026-10")["food_total"] == 10_000
    assert figures(store, other, "2026-10")["food_total"] == 30_000
    assert MonthClose.objects.count() == 2


@pytest.mark.parametrize("month,code", [("2026-13", "invalid_month"), ("2026/10", "invalid_month"), ("", "invalid_month"),
                                        (None, "invalid_month"), ("2026-12", "invalid_month")])
def test_a_bad_or_future_month_is_invalid_and_writes_nothing(path, op, month, code):
    order(op, StoreFactory(), "2026-10-02 12:00")
    with pytest.raises(InvalidInput) as exc:
        services.build_statements(month=month, now=at("2026-11-15 10:00"))
    assert exc.value.code == code
    assert not Statement.objects.exists() and not MonthClose.objects.exists() and not DeliveryEvent.objects.exists()


def test_the_sql_build_and_the_orm_twin_write_the_same_statements(settings, op):
    other = OperatorFactory(slug="aram")
    stores = [StoreFactory() for _ in range(4)]
    made = []
    for i in range(40):
        o = OrderFactory(operator=(op, other)[i % 2], store=stores[i % 3], food_amount=1_000 + 997 * i,
                         ordered_at=at("2026-10-01 00:00") + dt.timedelta(hours=23 * i))
        made.append(o)
    for o in made[::5]:
        cancel(o, o.ordered_at + dt.timedelta(days=3))
    out = {}
    for name in ("sql", "orm"):
        settings.DELIVERY_FAST_SQL = name == "sql"
        Statement.objects.all().delete()
        MonthClose.objects.all().delete()
        services.build_statements(month="2026-10", now=OCT_CLOSE)
        services.build_statements(month="2026-11", now=at("2026-11-20 00:00"))
        out[name] = sorted((s.store_id, s.operator_id, s.month, *(getattr(s, f) for f in rules.STATEMENT_FIGURES))
                           for s in Statement.objects.all())
    assert out["sql"] == out["orm"] and len(out["sql"]) >= 8
    assert any(row[-1] for row in out["sql"])  # November carries October's late cancels


def test_every_commission_is_counted_exactly_once_across_issued_months(path, op):
    """Σ(commission + adjustments) over the issued statements = Σ commission of the live orders."""
    stores = [StoreFactory() for _ in range(3)]
    made = [OrderFactory(operator=op, store=stores[i % 3], food_amount=5_000 + 1_111 * i,
                         ordered_at=at("2026-10-01 00:00") + dt.timedelta(hours=30 * i)) for i in range(40)]
    late = OrderFactory(operator=op, store=stores[0], ordered_at=at("2026-10-20 00:00"),
                        reported_at=at("2026-11-10 00:00"))
    for o in made[::4] + [late]:
        cancel(o, max(o.reported_at, OCT_CLOSE) + dt.timedelta(days=1, hours=o.pk % 7))
    for month, now in (("2026-10", OCT_CLOSE), ("2026-11", NOV_CLOSE), ("2026-12", at("2027-01-01 03:00"))):
        services.build_statements(month=month, now=now)
    counted = Statement.objects.aggregate(c=Sum("commission"), a=Sum("adjustments"))
    live = Order.objects.filter(status="placed").aggregate(c=Sum("commission"))["c"]
    assert counted["c"] + counted["a"] == live
    assert Statement.objects.filter(status="draft").count() == 0


# --- wind-down -------------------------------------------------------------------------------------

def test_wind_down_withdraws_the_operator_and_closes_out_every_month_through_the_current_one(path, op):
    store = StoreFactory()
    order(op, store, "2026-09-10 12:00")
    order(op, store, "2026-10-10 12:00")
    order(op, store, "2026-11-10 12:00")
    services.build_statements(month="2026-09", now=at("2026-10-01 03:00"))
    now = at("2026-11-20 15:00")
    result = services.wind_down_operator(operator_id=op.pk, reason="협약 해지", actor=None, now=now)
    assert result.status == "withdrawn" and result.status_reason == "협약 해지"
    closes = dict(MonthClose.objects.filter(operator=op).values_list("month", "closed_at"))
    assert closes == {"2026-09": at("2026-10-01 03:00"), "2026-10": now, "2026-11": now}
    assert set(Statement.objects.values_list("month", "status")) == {
        ("2026-09", "issued"), ("2026-10", "issued"), ("2026-11", "issued")}
    kinds = list(DeliveryEvent.objects.filter(at=now).order_by("id").values_list("kind", flat=True))
    assert kinds == ["operator_wound_down", "month_closed", "statements_built", "month_closed", "statements_built"]
    # the closed-out current month is not rebuilt as a draft by the monthly job
    services.build_statements(month="2026-11", now=at("2026-11-25 10:00"))
    assert Statement.objects.get(month="2026-11").status == "issued"


def test_a_cancel_after_a_mid_month_wind_down_adjusts_the_next_month(path, op):
    store = StoreFactory()
    o1 = order(op, store, "2026-11-10 12:00", food=30_000)
    services.wind_down_operator(operator_id=op.pk, reason="운영 종료", actor=None, now=at("2026-11-20 15:00"))
    cancel(o1, "2026-11-25 10:00")
    services.build_statements(month="2026-11", now=NOV_CLOSE)
    services.build_statements(month="2026-12", now=at("2027-01-01 03:00"))
    assert figures(store, op, "2026-11")["commission"] == 600
    dec = figures(store, op, "2026-12")
    assert (dec["adjustments"], dec["adjustment_count"]) == (-600, 1)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201, None])
def test_wind_down_needs_a_reason_and_writes_nothing_without_one(path, op, reason):
    with pytest.raises(InvalidInput) as exc:
        services.wind_down_operator(operator_id=op.pk, reason=reason, actor=None)
    assert exc.value.code == "invalid_reason"
    assert Operator.objects.get(pk=op.pk).status == "active" and not DeliveryEvent.objects.exists()


def test_a_withdrawn_operator_cannot_be_wound_down_again_and_an_unknown_one_is_404(path, op):
    services.wind_down_operator(operator_id=op.pk, reason="협약 해지", actor=None)
    events = DeliveryEvent.objects.count()
    with pytest.raises(RuleViolation) as exc:
        services.wind_down_operator(operator_id=op.pk, reason="다시", actor=None)
    assert exc.value.code == "operator_status_conflict" and DeliveryEvent.objects.count() == events
    with pytest.raises(NotFound):
        services.wind_down_operator(operator_id=10**12, reason="없음", actor=None)


# --- commission received ----------------------------------------------------------------------------

def test_commission_received_only_for_issued_statements_once(path, op):
    store = StoreFactory()
    order(op, store, "2026-10-02 12:00")
    order(op, store, "2026-11-02 12:00")
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    services.build_statements(month="2026-11", now=at("2026-11-10 00:00"))
    issued, draft = Statement.objects.get(month="2026-10"), Statement.objects.get(month="2026-11")
    with pytest.raises(RuleViolation):
        services.mark_commission_received(statement_ids=[issued.pk, draft.pk], actor=None)
    assert not Statement.objects.filter(commission_received_at__isnull=False).exists()
    services.mark_commission_received(statement_ids=[issued.pk], actor=None, now=at("2026-11-15 10:00"))
    assert Statement.objects.get(pk=issued.pk).commission_received_at == at("2026-11-15 10:00")
    with pytest.raises(RuleViolation):
        services.mark_commission_received(statement_ids=[issued.pk], actor=None)


# --- the command -------------------------------------------------------------------------------------

def test_the_command_builds_a_month_and_refuses_bad_input(op, capsys):
    order(op, StoreFactory(), "2026-10-02 12:00")
    call_command("build_statements", "2026-10")
    assert Statement.objects.get().status == "issued"  # October 2026 has ended whenever the suite runs
    assert "2026-10" in capsys.readouterr().out
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="invalid_month"):
        call_command("build_statements", "2026-1")


# --- races -------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [True, False])
def test_two_builds_of_an_ended_month_at_once_close_it_once_with_one_result(settings, fast):
    settings.DELIVERY_FAST_SQL = fast
    ops = [OperatorFactory(slug=f"op-{i}") for i in range(3)]
    stores = [StoreFactory() for _ in range(5)]
    for i in range(60):
        OrderFactory(operator=ops[i % 3], store=stores[i % 5], food_amount=10_000 + i,
                     ordered_at=at("2026-10-05 12:00") + dt.timedelta(minutes=i))
    results = race(lambda now: services.build_statements(month="2026-10", now=now),
                   [(OCT_CLOSE,), (OCT_CLOSE + dt.timedelta(seconds=1),), (OCT_CLOSE + dt.timedelta(seconds=2),)])
    assert [kind for kind, _ in results] == ["ok", "ok", "ok"], results
    assert sum(len(value.closed) for _, value in results) == 3  # each operator closed by exactly one
    assert MonthClose.objects.count() == 3 and len(set(MonthClose.objects.values_list("closed_at", flat=True))) == 1
    assert Statement.objects.count() == 15 and set(Statement.objects.values_list("status", flat=True)) == {"issued"}
    assert Statement.objects.aggregate(n=Sum("order_count"))["n"] == 60
    assert (Statement.objects.aggregate(c=Sum("commission"))["c"]
            == Order.objects.aggregate(c=Sum("commission"))["c"])


@pytest.mark.django_db(transaction=True)
def test_a_wind_down_racing_a_build_closes_each_month_once():
    a, b = OperatorFactory(slug="a-op"), OperatorFactory(slug="b-op")
    store = StoreFactory()
    for i in range(20):
        OrderFactory(operator=(a, b)[i % 2], store=store, ordered_at=at("2026-10-05 12:00") + dt.timedelta(hours=i))
    now = at("2026-11-01 03:00")

    def act(which):
        if which == "build":
            return services.build_statements(month="2026-10", now=now)
        return services.wind_down_operator(operator_id=b.pk, reason="종료", actor=None, now=now)

    results = race(act, [("build",), ("wind",)])
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert sorted(MonthClose.objects.values_list("operator__slug", "month")) == [
        ("a-op", "2026-10"), ("b-op", "2026-10"), ("b-op", "2026-11")]
    assert Statement.objects.filter(month="2026-10").aggregate(n=Sum("order_count"))["n"] == 20
    assert MonthClose.objects.filter(month="2026-10").count() == 2


def test_the_late_report_index_holds_exactly_the_orders_reported_after_their_month():
    """Migration 0004's partial index: the build's late-report part reads it (db.REPORTED_LATE)."""
    from django.db import connection

    from delivery.db import statements as db

    op = OperatorFactory()
    on_time = order(op, StoreFactory(), "2026-10-31 23:00", reported_at=at("2026-10-31 23:59"))
    late = order(op, StoreFactory(), "2026-10-31 23:00", reported_at=at("2026-11-01 00:00"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'order_reported_late'")
        assert "WHERE" in cursor.fetchone()[0]
        cursor.execute(f"SELECT o.id FROM delivery_order o WHERE {db.REPORTED_LATE}")
        assert [row[0] for row in cursor.fetchall()] == [late.pk]
    assert on_time.pk != late.pk


@pytest.mark.django_db(transaction=True)
def test_an_order_in_flight_when_the_month_closes_is_counted_once_it_commits():
    """The close waits for the order's transaction (the SHARE lock) instead of missing it: stamped
    before the mark and committed after, it is in the issued statement, not lost between two months.
    And the order's foreign-key check at commit does not deadlock with the build's operator lock."""
    import threading
    import time

    from django.db import connection, transaction

    op = OperatorFactory(slug="inflight")
    CommissionContractFactory(operator=op)
    store = StoreFactory()
    order(op, store, "2026-10-10 12:00")
    inserted, results = threading.Event(), {}

    def report():
        try:
            with transaction.atomic():
                OrderFactory(operator=op, store=store, ordered_at=at("2026-10-31 23:59"),
                             reported_at=at("2026-11-01 02:59"), food_amount=50_000)
                inserted.set()
                time.sleep(1.0)  # the build is waiting on the table lock meanwhile
            results["report"] = "ok"
        except Exception as exc:  # surfaced below
            results["report"] = repr(exc)
        finally:
            connection.close()

    def build():
        try:
            inserted.wait(10)
            results["build"] = services.build_statements(month="2026-10", now=OCT_CLOSE)
        except Exception as exc:
            results["build"] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report), threading.Thread(target=build)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["report"] == "ok", results
    assert isinstance(results["build"], services.BuildResult), results
    s = Statement.objects.get()
    assert (s.status, s.order_count, s.food_total) == ("issued", 2, 70_000)
