"""Staff pages: statements read-only with filters and CSV/XLSX export, month closes, operator health
(cancellation by payment method, outstanding commission), the build button, wind-down."""
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse

from delivery import selectors, services
from delivery.models import MonthClose, Operator, Statement
from tests.delivery.factories import CommissionContractFactory, OperatorFactory, OrderFactory, StoreFactory
from tests.vouchers.factories import CitizenFactory, MerchantFactory
from vouchers.models import Payment, Wallet

pytestmark = [pytest.mark.django_db]
KST = ZoneInfo("Asia/Seoul")


def day(month, d, hour=12):
    year, mon = map(int, month.split("-"))
    return dt.datetime(year, mon, d, hour, tzinfo=KST)


def voucher_payment():
    """A voucher Payment row for a jinju_love order (the orders service makes it through the pay code;
    these tests only need the order's payment method)."""
    wallet = Wallet.objects.create(citizen=CitizenFactory())
    return Payment.objects.create(merchant=MerchantFactory(), wallet=wallet, method="pay_code", amount=23_000)


@pytest.fixture
def built():
    a, b = OperatorFactory(slug="smartro", name="㈜스마트로"), OperatorFactory(slug="aram", name="㈜아람솔루션")
    CommissionContractFactory(operator=a)
    refuser, fine = StoreFactory(name="상품권거절집"), StoreFactory(name="보통집")
    for i in range(6):  # every voucher order cancelled at one store
        OrderFactory(operator=a, store=refuser, ordered_at=day("2026-10", 1 + i), payment_method="jinju_love",
                     payment=voucher_payment(), status="cancelled", cancelled_at=day("2026-10", 1 + i, 13))
    for i in range(4):
        OrderFactory(operator=a, store=refuser, ordered_at=day("2026-10", 10 + i))
        OrderFactory(operator=b, store=fine, ordered_at=day("2026-10", 10 + i))
    services.build_statements(month="2026-10", now=day("2026-11", 1, 3))
    return {"a": a, "b": b, "refuser": refuser, "fine": fine}


def test_statements_list_filters_and_opens_read_only(admin_client, built):
    url = reverse("admin:delivery_statement_changelist")
    for query in ("", "month=2026-10", f"operator__id__exact={built['a'].pk}", "status=issued", "received=no"):
        assert admin_client.get(f"{url}?{query}").status_code == 200
    assert admin_client.get(f"{url}?operator__id__exact={built['b'].pk}").context["cl"].result_count == 1
    statement = Statement.objects.first()
    page = admin_client.get(reverse("admin:delivery_statement_change", args=[statement.pk]))
    assert page.status_code == 200 and b'name="order_count"' not in page.content
    assert admin_client.get(reverse("admin:delivery_statement_add")).status_code == 403


def _export(admin_client, fmt):
    url = reverse("admin:delivery_statement_export")
    fields = ("id", "month", "status", "store_name", "operator_slug", "order_count", "food_total", "commission",
              "saved_low", "saved_high", "adjustments")
    response = admin_client.post(url, {"format": fmt, "resource": "0",
                                       **{f"statementresource_{f}": "on" for f in fields}})
    assert response.status_code == 200, response.content[:500]
    return response


def test_statements_export_as_csv_and_xlsx(admin_client, built):
    page = admin_client.get(reverse("admin:delivery_statement_export")).content.decode()
    formats = {label: value for value, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page)}
    csv_text = _export(admin_client, formats["csv"]).content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert "food_total" in lines[0] and len(lines) == 1 + Statement.objects.count()
    assert any("상품권거절집" in line for line in lines)
    book = openpyxl.load_workbook(io.BytesIO(_export(admin_client, formats["xlsx"]).content))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 1 + Statement.objects.count() and "commission" in rows[0]


def test_health_shows_cancellation_by_payment_method_and_outstanding_commission(admin_client, built):
    health = {row["operator"].slug: row for row in selectors.operator_health()}
    voucher = {m["method"]: m for m in health["smartro"]["by_method"]}["jinju_love"]
    assert (voucher["orders"], voucher["cancelled"], voucher["rate"]) == (6, 6, 1.0)
    assert health["smartro"]["outstanding"] == 4 * 400 and health["aram"]["outstanding"] == 4 * 400
    suspects = selectors.store_cancellation_by_method()
    assert [s["store_id"] for s in suspects] == [built["refuser"].pk]
    page = admin_client.get(reverse("admin:delivery_statement_health")).content.decode()
    assert "상품권거절집" in page and "1,600원" in page
    assert admin_client.get(reverse("admin:delivery_statement_health") + "?month=2026-10").status_code == 200
    assert admin_client.get(reverse("admin:delivery_statement_health") + "?month=junk").status_code == 200


def test_marking_commission_received_drops_it_from_outstanding(admin_client, built):
    url = reverse("admin:delivery_statement_changelist")
    ids = list(Statement.objects.filter(operator=built["a"]).values_list("pk", flat=True))
    admin_client.post(url, {"action": "mark_received", "_selected_action": ids})
    health = {row["operator"].slug: row for row in selectors.operator_health()}
    assert health["smartro"]["outstanding"] == 0 and health["aram"]["outstanding"] == 1_600


def test_the_build_button_builds_through_the_service_and_shows_a_refusal(admin_client, built):
    url = reverse("admin:delivery_statement_build")
    admin_client.post(url, {"month": "2099-01"}, follow=True)
    assert not Statement.objects.filter(month="2099-01").exists()
    response = admin_client.post(url, {"month": "2026-09"}, follow=True)
    assert response.status_code == 200 and MonthClose.objects.filter(month="2026-09").count() == 2


def test_wind_down_page_withdraws_through_the_service_and_refuses_without_a_reason(admin_client, built):
    url = reverse("admin:delivery_statement_wind_down")
    assert admin_client.get(url).status_code == 200
    refused = admin_client.post(url, {"operator": built["b"].pk, "reason": ""})
    assert refused.status_code == 200 and Operator.objects.get(pk=built["b"].pk).status == "active"
    done = admin_client.post(url, {"operator": built["b"].pk, "reason": "협약 해지"})
    assert done.status_code == 302
    assert Operator.objects.get(pk=built["b"].pk).status == "withdrawn"
    assert MonthClose.objects.filter(operator=built["b"]).count() >= 2  # October and the current month


def test_month_closes_are_listed_read_only(admin_client, built):
    url = reverse("admin:delivery_monthclose_changelist")
    assert admin_client.get(url).context["cl"].result_count == 2
    close = MonthClose.objects.first()
    assert admin_client.get(reverse("admin:delivery_monthclose_change", args=[close.pk])).status_code == 200
    assert admin_client.get(reverse("admin:delivery_monthclose_add")).status_code == 403
