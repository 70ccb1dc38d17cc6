"""Real headless Chromium: the savings page renders its server-drawn SVG chart with the figures."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from delivery import services
from tests.delivery.factories import OperatorFactory, OrderFactory, StoreFactory

KST = ZoneInfo("Asia/Seoul")
NO_HSCROLL = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_savings_chart_renders_as_svg_with_the_figures_beside_it(live_server, page):
    op = OperatorFactory(slug="smartro")
    store = StoreFactory()
    for month, food in (("2026-08", 100_000), ("2026-09", 300_000), ("2026-10", 200_000)):
        year, mon = map(int, month.split("-"))
        OrderFactory(operator=op, store=store, ordered_at=dt.datetime(year, mon, 5, 12, tzinfo=KST), food_amount=food)
        services.build_statements(month=month, now=dt.datetime(2026, 11, 1, 3, tzinfo=KST))
    page.goto(live_server.url + "/delivery/savings/")
    chart = page.locator("svg#savings-chart")
    assert chart.get_attribute("role") == "img"
    assert page.locator("#savings-chart-title").text_content() == "월별 중개수수료: 공공배달앱과 민간앱 비교"
    assert page.locator("svg#savings-chart g.month").count() == 3
    bars = page.locator("svg#savings-chart rect.bar-high")
    heights = [float(bars.nth(i).get_attribute("height")) for i in range(3)]
    assert heights[1] > heights[2] > heights[0] > 0  # 36,000 > 24,000 > 12,000
    box = bars.nth(1).bounding_box()
    assert box and box["height"] > 50  # drawn, not just present in the markup
    assert "2026-09 민간앱이었다면 (12%): 36,000원" in bars.nth(1).locator("title").text_content()
    september = page.locator('#savings-table tr[data-month="2026-09"]').inner_text()
    assert "300,000원" in september and "6,000원" in september and "30,000원" in september
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate(NO_HSCROLL) <= 0
