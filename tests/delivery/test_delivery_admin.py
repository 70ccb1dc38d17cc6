"""The delivery registry's admin: every write through a service, the approval queue with its bulk
approve, status changes with the reason, contracts added (never edited), nothing deletable."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.models import CommissionContract, DeliveryEvent, Operator, Store
from tests.delivery.factories import (BrandFactory, CommissionContractFactory, OperatorFactory, StoreFactory,
                                      StoreListingFactory)
from vouchers import months

pytestmark = pytest.mark.django_db


def changelist(model):
    return reverse(f"admin:delivery_{model}_changelist")


@pytest.mark.parametrize("model", ["operator", "brand", "commissioncontract", "store"])
def test_every_changelist_answers(admin_client, model):
    operator = OperatorFactory()
    BrandFactory(operator=operator)
    CommissionContractFactory(operator=operator)
    StoreListingFactory(operator=operator)
    assert admin_client.get(changelist(model)).status_code == 200


def test_the_queue_lists_pending_stores_first_and_filters_them(admin_client):
    StoreFactory(name="가 승인된 가게")
    pending = StoreFactory(name="하 기다리는 가게", status="pending", approved_at=None)
    rows = list(admin_client.get(changelist("store")).context["cl"].result_list)
    assert rows[0] == pending
    assert list(admin_client.get(changelist("store"), {"queue": "pending"}).context["cl"].result_list) == [pending]


def test_bulk_approve_approves_the_pending_and_reports_the_skipped(admin_client, admin_user):
    pending = [StoreFactory(status="pending", approved_at=None) for _ in range(3)]
    withdrawn = StoreFactory(status="withdrawn")
    response = admin_client.post(changelist("store"), {
        "action": "approve", "_selected_action": [s.pk for s in pending] + [withdrawn.pk]}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "가맹점 3곳을 승인했습니다." in text and f"#{withdrawn.pk}" in text
    assert Store.objects.filter(status="approved").count() == 3
    event = DeliveryEvent.objects.filter(kind="store_approved").first()
    assert event.user == admin_user and event.actor == f"user:{admin_user.username}"


def test_suspension_needs_a_reason(admin_client):
    store = StoreFactory()
    response = admin_client.post(changelist("store"), {"action": "suspend", "_selected_action": [store.pk],
                                                       "reason": ""}, follow=True)
    assert "사유를" in " ".join(str(m) for m in response.context["messages"])
    store.refresh_from_db()
    assert store.status == "approved"
    admin_client.post(changelist("store"), {"action": "suspend", "_selected_action": [store.pk],
                                            "reason": "위생 점검"})
    store.refresh_from_db()
    assert (store.status, store.status_reason) == ("suspended", "위생 점검")
    admin_client.post(changelist("store"), {"action": "reinstate", "_selected_action": [store.pk],
                                            "reason": "점검 완료"})
    store.refresh_from_db()
    assert store.status == "approved"


def test_a_store_page_shows_its_listings_and_trail_and_nothing_is_deletable(admin_client):
    store = StoreFactory(name="남강치킨")
    StoreListingFactory(store=store, operator=OperatorFactory(slug="smartro", name="㈜스마트로"))
    admin_client.post(changelist("store"), {"action": "suspend", "_selected_action": [store.pk], "reason": "점검"})
    body = admin_client.get(reverse("admin:delivery_store_change", args=[store.pk])).content.decode()
    assert "㈜스마트로" in body and "가맹점 상태 변경" in body and "점검" in body
    assert admin_client.get(reverse("admin:delivery_store_delete", args=[store.pk])).status_code == 403
    operator = Operator.objects.get()
    assert admin_client.get(reverse("admin:delivery_operator_delete", args=[operator.pk])).status_code == 403
    assert admin_client.get(reverse("admin:delivery_store_add")).status_code == 403


@pytest.mark.clock
def test_a_contract_is_added_through_the_service_and_never_edited(admin_client, admin_user):
    operator = OperatorFactory()
    today = months.seoul(timezone.now()).date()
    url = reverse("admin:delivery_commissioncontract_add")
    data = {"operator": operator.pk, "rate": "0.0150", "effective_from": f"{today - dt.timedelta(days=1)}",
            "waiver_monthly_food": "500000", "note": "프로모션"}
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "이미 적용이 시작된" in response.content.decode()
    assert not CommissionContract.objects.exists()
    response = admin_client.post(url, {**data, "effective_from": f"{today + dt.timedelta(days=1)}"})
    assert response.status_code == 302
    contract = CommissionContract.objects.get()
    assert (contract.rate, contract.waiver_monthly_food, contract.created_by) == (Decimal("0.0150"), 500_000,
                                                                                   admin_user)
    change = reverse("admin:delivery_commissioncontract_change", args=[contract.pk])
    assert admin_client.post(change, {**data, "rate": "0.0500"}).status_code == 403
    contract.refresh_from_db()
    assert contract.rate == Decimal("0.0150")
    assert admin_client.get(reverse("admin:delivery_commissioncontract_history", args=[contract.pk])).status_code == 200


def test_an_operator_is_registered_and_suspended_through_the_services(admin_client):
    response = admin_client.post(reverse("admin:delivery_operator_add"), {
        "slug": "newco", "name": "㈜새운영사", "business_number": "220-81-62517", "selected_on": "2020-11-13",
        "agreement_signed_on": "2020-12-22", "brand_names": "새배달"})
    assert response.status_code == 302, [str(e) for e in response.context["errors"]] if response.context else ""
    operator = Operator.objects.get(slug="newco")
    assert list(operator.brands.values_list("name", flat=True)) == ["새배달"]
    admin_client.post(changelist("operator"), {"action": "suspend", "_selected_action": [operator.pk],
                                               "reason": "협약 위반 조사"})
    operator.refresh_from_db()
    assert (operator.status, operator.status_reason) == ("suspended", "협약 위반 조사")
    assert list(DeliveryEvent.objects.filter(operator=operator).values_list("kind", flat=True).order_by("id")) == [
        "operator_registered", "operator_status_changed"]


def test_an_operators_page_links_its_wind_down_until_it_is_wound_down(admin_client):
    operator = OperatorFactory()
    page = admin_client.get(reverse("admin:delivery_operator_change", args=[operator.pk])).content.decode()
    assert reverse("admin:delivery_statement_wind_down") + f"?operator={operator.pk}" in page
    Operator.objects.filter(pk=operator.pk).update(status="withdrawn")
    page = admin_client.get(reverse("admin:delivery_operator_change", args=[operator.pk])).content.decode()
    assert "?operator=" not in page
    assert "운영 종료됨" in page
