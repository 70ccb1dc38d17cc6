"""Staff's settlement admin: the read-only list with its filters and search, the bank transfer file
(download marks rows sent, accounts missing listed), mark paid, and bank accounts kept masked."""
import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from tests.vouchers.factories import MerchantFactory, staff_actor
from tests.vouchers.test_settlements import D, NOW, at, build, pay
from vouchers import services
from vouchers.models import MerchantBankAccount, Settlement, VoucherEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def built():
    shop, no_account = MerchantFactory(name="계좌 있는 가게"), MerchantFactory(name="계좌 없는 가게")
    services.set_merchant_bank_account(merchant_id=shop.pk, bank_code="011", bank_name="농협은행",
                                       account_number="352-0123-4567-89", holder="김진주", actor=staff_actor(), now=NOW)
    pay(shop, 125_000, at(D, 10))
    pay(no_account, 9_000, at(D, 10))
    build(D)
    return shop, no_account


def test_the_list_filters_by_status_and_date_and_searches_the_merchant(admin_client, built):
    shop, no_account = built
    url = reverse("admin:vouchers_settlement_changelist")
    page = admin_client.get(url).content.decode()
    assert "125,000원" in page and "9,000원" in page and 'id="transfer-file-link"' in page
    assert "9,000원" not in admin_client.get(url, {"q": shop.code}).content.decode()
    assert "125,000원" in admin_client.get(url, {"status__exact": "calculated", "date": D.isoformat()}).content.decode()
    detail = admin_client.get(reverse("admin:vouchers_settlement_change", args=[Settlement.objects.get(
        merchant=shop).pk])).content.decode()
    assert "농협은행 ***-****-6789" in detail and "352-0123" not in detail and "기록 없음" in detail
    assert admin_client.get(reverse("admin:vouchers_settlement_add")).status_code == 403


def test_the_transfer_file_is_previewed_then_downloaded_once_and_marks_its_rows_sent(admin_client, built):
    shop, no_account = built
    url = reverse("admin:vouchers_settlement_transfer_file")
    preview = admin_client.get(url, {"pay_on": "2026-12-02"}).content.decode()
    assert "1건, 125,000원" in preview and "계좌 없는 가게" in preview
    response = admin_client.post(url, {"pay_on": "2026-12-02"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="jinju-settlement-20261202.csv"' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[1][:5] == ["011", "농협은행", "352-0123-4567-89", "김진주", "125000"] and lines[-1][4] == "125000"
    assert Settlement.objects.get(merchant=shop).status == "sent"
    assert Settlement.objects.get(merchant=no_account).status == "calculated"
    again = admin_client.post(url, {"pay_on": "2026-12-02"})
    assert list(csv.reader(io.StringIO(again.content.decode("utf-8-sig"))))[-1][4] == "0"
    assert admin_client.post(url, {"pay_on": "not a date"}).status_code == 200  # the form says so, nothing sent


def test_mark_paid_moves_sent_rows_and_refuses_the_rest_with_a_message(admin_client, built):
    shop, no_account = built
    services.produce_transfer_file(pay_on=dt.date(2026, 12, 2), actor=staff_actor(), now=NOW)
    url = reverse("admin:vouchers_settlement_changelist")
    both = list(Settlement.objects.order_by("pk").values_list("pk", flat=True))
    page = admin_client.post(url, {"action": "mark_paid", "_selected_action": both}, follow=True).content.decode()
    assert "계산됨" in page and not Settlement.objects.filter(status="paid").exists()
    sent = Settlement.objects.get(merchant=shop).pk
    admin_client.post(url, {"action": "mark_paid", "_selected_action": [sent]})
    assert Settlement.objects.get(pk=sent).status == "paid"
    assert VoucherEvent.objects.filter(settlement_id=sent, kind="settlement_paid").count() == 1


def test_a_bank_account_is_added_and_changed_in_the_admin_without_ever_showing_its_number(admin_client, built):
    shop, no_account = built
    add = reverse("admin:vouchers_merchantbankaccount_add")
    response = admin_client.post(add, {"merchant": no_account.pk, "bank_code": "004", "bank_name": "국민은행",
                                       "account_number": "123-456-789012", "holder": "박남강"})
    assert response.status_code == 302
    account = MerchantBankAccount.objects.get(merchant=no_account)
    assert account.account_number == "123-456-789012"
    change = reverse("admin:vouchers_merchantbankaccount_change", args=[account.pk])
    form = admin_client.get(change).content.decode()
    assert "***-****-9012" in form and "123-456-789012" not in form
    listing = admin_client.get(reverse("admin:vouchers_merchantbankaccount_changelist")).content.decode()
    assert "***-****-6789" in listing and "352-0123" not in listing
    admin_client.post(change, {"bank_code": "004", "bank_name": "국민은행", "account_number": "", "holder": "박남강 외"})
    account.refresh_from_db()
    assert account.account_number == "123-456-789012" and account.holder == "박남강 외"  # blank keeps the number
    bad = admin_client.post(change, {"bank_code": "4", "bank_name": "국민은행", "account_number": "", "holder": "x"})
    assert bad.status_code == 200 and "은행 코드는 숫자 3자리" in bad.content.decode()
    assert VoucherEvent.objects.filter(kind="bank_account_changed", merchant=no_account).count() == 2
