"""The public "what stores saved" page (server-drawn SVG + the same figures in a table) and the
store owner's statements page."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from delivery import charts, selectors, services
from tests.delivery.factories import OperatorFactory, OrderFactory, StoreFactory
from tests.seed_support import SeedOut

pytestmark = [pytest.mark.django_db]
KST = ZoneInfo("Asia/Seoul")


def day(month, d):
    year, mon = map(int, month.split("-"))
    return dt.datetime(year, mon, d, 12, tzinfo=KST)


@pytest.fixture
def months_built():
    a, b = OperatorFactory(slug="smartro", name="㈜스마트로"), OperatorFactory(slug="aram", name="㈜아람솔루션")
    owner = get_user_model().objects.create_user(username="owner", password="pw-owner-2026")
    store = StoreFactory(owner=owner, name="진주치킨")
    OrderFactory(operator=a, store=store, ordered_at=day("2026-09", 5), food_amount=100_000)
    OrderFactory(operator=a, store=store, ordered_at=day("2026-10", 5), food_amount=200_000)
    OrderFactory(operator=b, store=store, ordered_at=day("2026-10", 6), food_amount=50_000)
    OrderFactory(operator=b, store=StoreFactory(), ordered_at=day("2026-11", 6), food_amount=999_999)
    services.build_statements(month="2026-09", now=day("2026-10", 1))
    services.build_statements(month="2026-10", now=day("2026-11", 1))
    services.build_statements(month="2026-11", now=day("2026-11", 20))  # draft: never on the page
    return {"owner": owner, "store": store, "a": a, "b": b}


def test_the_page_draws_one_bar_group_per_issued_month_with_the_figures_in_a_table(client, months_built):
    html = client.get("/delivery/savings/").content.decode()
    svg = html[html.index("<svg id=\"savings-chart\""):html.index("</svg>", html.index("savings-chart"))]
    assert 'role="img"' in svg and "<title id=\"savings-chart-title\">" in svg and "<desc" in svg
    assert re.findall(r'data-month="([\d-]+)"', svg) == ["2026-09", "2026-10"]
    values = [int(v) for v in re.findall(r'data-value="(\d+)"', svg)]
    assert values == [2_000, 6_000, 12_000, 5_000, 15_000, 30_000]  # paid, 6 %, 12 % for each month
    assert "2026-11" not in html and "999,999원" not in html
    table = html[html.index('<table id="savings-table"'):html.index("</table>")]
    assert "250,000원" in table and "5,000원" in table and "10,000원" in table and "25,000원" in table
    assert "<script" not in html.split("</header>")[-1] or "cdn" not in html.lower()


def test_bar_heights_are_proportional_and_the_axis_ticks_are_round_amounts():
    rows = [{"month": "2026-09", "commission": 2_000, "commercial_commission_low": 6_000,
             "commercial_commission_high": 12_000},
            {"month": "2026-10", "commission": 5_000, "commercial_commission_low": 15_000,
             "commercial_commission_high": 30_000}]
    chart = charts.savings_chart(rows)
    bars = [b for m in chart["months"] for b in m["bars"]]
    assert [b["value"] for b in bars] == [2_000, 6_000, 12_000, 5_000, 15_000, 30_000]
    assert bars[5]["height"] == pytest.approx(bars[2]["height"] * 2.5, abs=0.2)
    assert all(b["y"] + b["height"] == pytest.approx(chart["baseline"], abs=0.2) for b in bars)
    assert [t["value"] for t in chart["ticks"]] == [0, 10_000, 20_000, 30_000]
    assert chart["ticks"][-1]["label"] == "30,000원"


def test_an_empty_city_says_so_without_a_chart(client):
    html = client.get("/delivery/savings/").content.decode()
    assert 'id="savings-empty"' in html and "<svg id=\"savings-chart\"" not in html


def test_the_owner_sees_each_month_summed_across_operators_and_per_operator(client, months_built):
    assert client.get("/delivery/my/statements/").status_code == 302  # sign in first
    client.force_login(months_built["owner"])
    html = client.get("/delivery/my/statements/").content.decode()
    october = re.search(r'<tr class="month-total" data-month="2026-10">(.*?)</tr>', html, re.S).group(1)
    assert "250,000원" in october and "5,000원" in october  # 200,000 + 50,000; 4,000 + 1,000
    assert 'data-month="2026-10" data-operator="smartro"' in html and 'data-month="2026-10" data-operator="aram"' in html
    totals = selectors.store_totals_by_month(months_built["store"].pk)
    assert [(m["month"], m["food_total"], m["commission"], len(m["lines"])) for m in totals] == [
        ("2026-10", 250_000, 5_000, 2), ("2026-09", 100_000, 2_000, 1)]


def test_an_owner_never_sees_another_owners_store(client, months_built):
    other = get_user_model().objects.create_user(username="other", password="pw-other-2026")
    client.force_login(other)
    html = client.get("/delivery/my/statements/").content.decode()
    assert 'id="no-stores"' in html and "진주치킨" not in html




@pytest.mark.clock
def test_demo_orders_make_three_issued_months_for_the_chart_and_a_rerun_writes_nothing(client, frozen_clock):
    from delivery import demo_orders
    from delivery.models import Order, Statement, StoreListing
    from tests.delivery.factories import CommissionContractFactory, StoreListingFactory

    ops = [OperatorFactory(slug=f"demo-{i}") for i in range(3)]
    for op in ops:
        CommissionContractFactory(operator=op)
    for i in range(10):
        store = StoreFactory()
        for op in ops[: 1 + i % 3]:
            StoreListingFactory(store=store, operator=op)
    demo_orders.run(SeedOut())
    orders = Order.objects.count()
    assert orders == StoreListing.objects.count() * demo_orders.MONTHS_BACK * demo_orders.ORDERS_PER_LISTING == 171
    rows = selectors.savings_by_month()
    assert len(rows) == 3 and all(r["order_count"] > 0 for r in rows)
    assert Statement.objects.filter(status="draft").count() == 0
    before = list(Statement.objects.values_list())
    demo_orders.run(SeedOut())
    assert Order.objects.count() == orders and list(Statement.objects.values_list()) == before
    assert client.get("/delivery/savings/").content.decode().count('<g class="month"') == 3
