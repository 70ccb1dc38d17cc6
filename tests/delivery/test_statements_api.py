"""GET statements/ (an operator's own only) and GET savings/ (anyone, issued only); the monthly task."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from delivery import services, tasks
from delivery.models import MonthClose, Statement
from tests.delivery.factories import OrderFactory, StoreFactory

pytestmark = [pytest.mark.django_db]
KST = ZoneInfo("Asia/Seoul")
OCT_CLOSE = dt.datetime(2026, 11, 1, 3, 0, tzinfo=KST)
STATEMENT_KEYS = {"store", "month", "status", "order_count", "food_total", "commission", "commercial_commission_low",
                  "commercial_commission_high", "saved_low", "saved_high", "adjustments", "adjustment_count"}


def day(month, d, hour=12):
    year, mon = map(int, month.split("-"))
    return dt.datetime(year, mon, d, hour, tzinfo=KST)


@pytest.fixture
def two_operators(make_operator):
    a, a_http = make_operator("smartro")
    b, b_http = make_operator("aram")
    shared, only_a = StoreFactory(), StoreFactory()
    OrderFactory(operator=a, store=shared, ordered_at=day("2026-10", 2), food_amount=10_000)
    OrderFactory(operator=a, store=only_a, ordered_at=day("2026-10", 3), food_amount=30_000)
    OrderFactory(operator=b, store=shared, ordered_at=day("2026-10", 4), food_amount=50_000)
    OrderFactory(operator=b, store=shared, ordered_at=day("2026-11", 4), food_amount=70_000)
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    services.build_statements(month="2026-11", now=day("2026-11", 20))  # a draft
    return {"a": a, "b": b, "a_http": a_http, "b_http": b_http, "shared": shared, "only_a": only_a}


def test_an_operator_reads_only_its_own_statements_in_the_api_shape(two_operators):
    t = two_operators
    body = t["a_http"].get("/api/v1/delivery/statements/?month=2026-10").json()
    assert body["count"] == 2 and set(body) == {"count", "next", "previous", "results"}
    assert all(set(r) == STATEMENT_KEYS for r in body["results"])
    by_store = {r["store"]: r for r in body["results"]}
    assert set(by_store) == {t["shared"].pk, t["only_a"].pk}
    assert by_store[t["shared"].pk] == {
        "store": t["shared"].pk, "month": "2026-10", "status": "issued", "order_count": 1, "food_total": 10_000,
        "commission": 200, "commercial_commission_low": 600, "commercial_commission_high": 1_200, "saved_low": 400,
        "saved_high": 1_000, "adjustments": 0, "adjustment_count": 0}
    theirs = t["b_http"].get("/api/v1/delivery/statements/").json()
    assert [(r["store"], r["month"], r["food_total"]) for r in theirs["results"]] == [
        (t["shared"].pk, "2026-11", 70_000), (t["shared"].pk, "2026-10", 50_000)]
    assert {r["status"] for r in theirs["results"]} == {"issued", "draft"}


def test_another_operators_statements_never_appear_whatever_the_month(two_operators):
    t = two_operators
    for query in ("", "?month=2026-10", "?month=2026-11", "?page_size=500"):
        rows = t["a_http"].get(f"/api/v1/delivery/statements/{query}").json()["results"]
        assert all(Statement.objects.get(store_id=r["store"], month=r["month"], operator=t["a"]) for r in rows)
        assert not any(r["food_total"] in (50_000, 70_000) for r in rows)


def test_statements_paginate(make_operator):
    op, http = make_operator("honeybiz")
    for _ in range(3):
        OrderFactory(operator=op, store=StoreFactory(), ordered_at=day("2026-10", 5))
    services.build_statements(month="2026-10", now=OCT_CLOSE)
    page = http.get("/api/v1/delivery/statements/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize("month", ["2026-13", "202610", "abc", "2026-1", "", "2026-10' OR 1=1"])
def test_a_bad_month_is_400_invalid_month(make_operator, month):
    _op, http = make_operator("smartro")
    response = http.get("/api/v1/delivery/statements/", {"month": month})
    assert response.status_code == 400 and response.json()["code"] == "invalid_month"


def test_statements_need_an_operator_or_staff_key(make_client, api, staff_http, two_operators):
    assert api.get("/api/v1/delivery/statements/").status_code == 401
    _c, agent = make_client("sales_agent")
    assert agent.get("/api/v1/delivery/statements/").status_code == 403
    assert staff_http.get("/api/v1/delivery/statements/?month=2026-10").json()["count"] == 3


def test_savings_are_city_wide_by_month_from_issued_statements_only(api, two_operators):
    body = api.get("/api/v1/delivery/savings/").json()
    assert body == [{"month": "2026-10", "order_count": 3, "food_total": 90_000, "commission": 1_800,
                     "saved_low": 5_400 - 1_800, "saved_high": 10_800 - 1_800}]  # November is a draft: not here


def test_savings_of_nothing_is_an_empty_list(api):
    assert api.get("/api/v1/delivery/savings/").json() == []


def test_the_schema_documents_both_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    assert "/api/v1/delivery/statements/" in schema["paths"] and "/api/v1/delivery/savings/" in schema["paths"]


# --- the monthly job -----------------------------------------------------------------------------------

@pytest.mark.clock
def test_the_monthly_task_builds_last_month_and_a_rerun_writes_nothing(frozen_clock, make_operator):
    op, _http = make_operator("smartro")
    frozen_clock.move_to(dt.datetime(2026, 12, 1, 3, 0, tzinfo=KST))
    OrderFactory(operator=op, store=StoreFactory(), ordered_at=day("2026-11", 10))
    first = tasks.build_statements()
    assert first["month"] == "2026-11" and first["closed"] == ["smartro"] and first["created"] == 1
    before = list(Statement.objects.values_list())
    frozen_clock.move_to(dt.datetime(2026, 12, 3, 9, 0, tzinfo=KST))  # late, and twice
    again = tasks.build_statements(month="2026-11")
    assert (again["created"], again["updated"], again["closed"]) == (0, 0, [])
    assert list(Statement.objects.values_list()) == before
    assert MonthClose.objects.get().closed_at == dt.datetime(2026, 12, 1, 3, 0, tzinfo=KST)


def test_the_beat_entry_runs_on_the_1st_at_03_00_and_expires_before_the_next_run():
    from jinju_portal.celery import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["delivery-build-statements"]
    assert entry["task"] == "delivery.tasks.build_statements" == tasks.build_statements.name
    schedule = entry["schedule"]
    assert (schedule.minute, schedule.hour, schedule.day_of_month) == ({0}, {3}, {1})
    assert entry["options"]["expires"] < 28 * 24 * 3600


@pytest.mark.slow
def test_a_real_celery_worker_builds_a_month_from_redis(celery_worker_process):
    import time

    from django.db import connection

    from tests.delivery.factories import OperatorFactory

    op = OperatorFactory(slug="worker-op")
    OrderFactory(operator=op, store=StoreFactory(), ordered_at=day("2026-10", 10))
    celery_worker_process(tasks.build_statements, "2026-10")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Statement.objects.filter(status="issued").exists():
        time.sleep(0.2)
    assert Statement.objects.get().status == "issued" and MonthClose.objects.count() == 1
    connection.close()


@pytest.fixture(autouse=True)
def _portal_app_stays_current():
    """The worker fixture's sender app makes itself Celery's current app (see tests/vouchers/test_refunds.py)."""
    yield
    from jinju_portal.celery import app

    app.set_current()
