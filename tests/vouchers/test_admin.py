"""City staff's admin: progress, raise quota / close early through the services, policy rules,
read-only purchases with filters and CSV export, citizens without their CI hash."""
import datetime as dt

import pytest
from django import forms
from django.urls import reverse

from tests.vouchers.factories import IssuancePlanFactory, TrancheFactory
from vouchers import services
from vouchers.models import Citizen, LimitPolicy, Tranche

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


@pytest.fixture
def sales():
    plan = IssuancePlanFactory(medium="mobile", planned=19_000_000_000)
    tranche = TrancheFactory(medium="mobile", quota=8_000_000_000, plan=plan, month="2021-01")
    paper = TrancheFactory(medium="paper", quota=2_000_000_000)
    results = [services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=f"CI-ADM-{i}", face_value=10_000,
                                          channel="zeropay_app", buyer_name=f"시민{i}") for i in range(30)]
    results.append(services.purchase_vouchers(tranche_id=paper.pk, buyer_ci="CI-ADM-P", face_value=20_000,
                                              channel="branch", buyer_name="종이"))
    return plan, tranche, results


@pytest.mark.parametrize("model", ["issuanceplan", "tranche", "limitpolicy", "purchase", "citizen", "wallet",
                                   "papernote", "reservation", "monthlyissuancereport"])
def test_every_changelist_answers(admin_client, sales, model):
    assert admin_client.get(reverse(f"admin:vouchers_{model}_changelist")).status_code == 200


def test_purchase_list_filters_and_constant_queries(admin_client, sales, django_assert_max_num_queries):
    _plan, tranche, results = sales
    url = reverse("admin:vouchers_purchase_changelist")
    with django_assert_max_num_queries(12):
        page = admin_client.get(url)
    assert page.status_code == 200
    month = results[0].month
    for query in (f"month={month}", "medium=paper", "channel=branch", "status=completed", f"tranche={tranche.pk}"):
        assert admin_client.get(f"{url}?{query}").status_code == 200
    assert admin_client.get(f"{url}?medium=paper").context["cl"].result_count == 1
    detail = admin_client.get(reverse("admin:vouchers_purchase_change", args=[results[0].id]))
    assert detail.status_code == 200


def test_purchase_csv_export(admin_client, sales):
    url = reverse("admin:vouchers_purchase_export")
    response = admin_client.post(url, {"format": "0", "resource": "0", **{
        f"purchaseresource_{f}": "on" for f in ("id", "month", "channel", "medium", "face_value", "price", "status")}})
    assert response.status_code == 200, response.content[:500]
    text = response.content.decode("utf-8-sig")
    assert "face_value" in text.splitlines()[0] and len(text.strip().splitlines()) == 32


def test_citizens_show_name_and_birth_year_only_and_are_found_by_purchase_or_ci(admin_client, sales):
    _plan, _tranche, results = sales
    url = reverse("admin:vouchers_citizen_changelist")
    page = admin_client.get(url).content.decode()
    citizen = Citizen.objects.get(pk=results[0].citizen_id)
    assert citizen.ci_hash not in page and "시민0" in page
    found = admin_client.get(url, {"q": str(results[5].id)})
    assert [c.pk for c in found.context["cl"].result_list] == [results[5].citizen_id]
    by_ci = admin_client.get(url, {"q": "CI-ADM-7"})
    assert [c.name for c in by_ci.context["cl"].result_list] == ["시민7"]
    detail = admin_client.get(reverse("admin:vouchers_citizen_change", args=[citizen.pk])).content.decode()
    assert citizen.ci_hash not in detail


def test_raise_quota_form_calls_the_service_and_refuses_below_sold(admin_client, sales):
    _plan, tranche, _ = sales
    url = reverse("admin:vouchers_tranche_raise_quota", args=[tranche.pk])
    assert admin_client.get(url).status_code == 200
    refused = admin_client.post(url, {"quota": 1_000})
    assert refused.status_code == 200 and "팔렸습니다" in refused.content.decode()
    assert Tranche.objects.get(pk=tranche.pk).quota == 8_000_000_000
    assert admin_client.post(url, {"quota": 9_000_000_000}).status_code == 302
    assert Tranche.objects.get(pk=tranche.pk).quota == 9_000_000_000


def test_close_early_action_and_staff_create_tranche(admin_client, sales):
    _plan, tranche, _ = sales
    changelist = reverse("admin:vouchers_tranche_changelist")
    admin_client.post(changelist, {"action": "close_early", "_selected_action": [tranche.pk]})
    assert Tranche.objects.get(pk=tranche.pk).closed_at is not None
    response = admin_client.post(reverse("admin:vouchers_tranche_add"), {
        "name": "2월 모바일", "medium": "mobile", "quota": "1000000000", "discount_rate": "0.1000",
        "opens_at_0": "2021-02-01", "opens_at_1": "09:00:00", "closes_at_0": "2021-03-01", "closes_at_1": "00:00:00",
        "month": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Tranche.objects.get(name="2월 모바일")
    assert created.month == "2021-02" and created.sold == 0


def test_limit_policy_admin_refuses_mid_month_and_past_months(admin_client):
    url = reverse("admin:vouchers_limitpolicy_add")
    base = {"monthly_limit": "200000", "refund_ratio": "0.60", "note": ""}
    response = admin_client.post(url, {**base, "effective_from": "2099-02-15"})
    assert response.status_code == 200 and not LimitPolicy.objects.exists()
    response = admin_client.post(url, {**base, "effective_from": "2021-01-01"})
    assert response.status_code == 200 and not LimitPolicy.objects.exists()
    response = admin_client.post(url, {**base, "effective_from": "2099-02-01", "refund_ratio": "0.85"})
    assert response.status_code == 200 and not LimitPolicy.objects.exists()
    assert admin_client.post(url, {**base, "effective_from": "2099-02-01"}).status_code == 302
    policy = LimitPolicy.objects.get()
    assert policy.history.count() == 1
    assert policy.history.first().history_user is not None


def test_plan_shows_issued_and_sold_progress(admin_client, sales):
    plan, _tranche, _ = sales
    page = admin_client.get(reverse("admin:vouchers_issuanceplan_changelist")).content.decode()
    assert "8,000,000,000원" in page and "300,000원" in page
    detail = admin_client.get(reverse("admin:vouchers_issuanceplan_change", args=[plan.pk])).content.decode()
    assert "2021-12" in detail


def test_month_report_lists_after_rollover(admin_client, sales):
    services.month_rollover(now=dt.datetime(2021, 2, 1, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    page = admin_client.get(reverse("admin:vouchers_monthlyissuancereport_changelist")).content.decode()
    assert "2021-01" in page


def test_editing_a_tranche_in_the_admin_never_writes_back_a_stale_sold(admin_client, sales):
    _plan, tranche, _ = sales
    url = reverse("admin:vouchers_tranche_change", args=[tranche.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update({"name": "새 이름", "opens_at_0": tranche.opens_at.astimezone().strftime("%Y-%m-%d"),
                 "opens_at_1": tranche.opens_at.astimezone().strftime("%H:%M:%S"),
                 "closes_at_0": tranche.closes_at.astimezone().strftime("%Y-%m-%d"),
                 "closes_at_1": tranche.closes_at.astimezone().strftime("%H:%M:%S")})
    data = {k: v for k, v in data.items() if v is not None and k not in {"opens_at", "closes_at"}}
    # a sale lands between showing the form and saving it
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-MEANWHILE", face_value=10_000,
                               channel="zeropay_app")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    tranche.refresh_from_db()
    assert tranche.name == "새 이름"
    assert tranche.sold == 310_000
    # saving the form again with nothing changed must not write the row at all
    stale = Tranche.objects.get(pk=tranche.pk)
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-MEANWHILE-2", face_value=10_000,
                               channel="zeropay_app")
    admin_site_admin = __import__("django.contrib.admin", fromlist=["site"]).site._registry[Tranche]
    form_class = admin_site_admin.get_form(None, stale)
    unchanged = form_class(instance=stale, data={**data, "name": "새 이름"})
    assert unchanged.is_valid(), unchanged.errors
    assert unchanged.changed_data == []  # the case a full save would have hit
    admin_site_admin.save_model(None, stale, unchanged, change=True)
    assert Tranche.objects.get(pk=tranche.pk).sold == 320_000


def _change_data(admin_client, url, **changes):
    form = admin_client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(form.fields[name], forms.SplitDateTimeField):
            local = value.astimezone()
            data[f"{name}_0"], data[f"{name}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
        elif value is not None:
            data[name] = value
    data.update(changes)
    return data


def test_an_over_plan_schedule_from_the_admin_is_refused_and_nothing_is_saved(admin_client):
    plan = IssuancePlanFactory(medium="paper", planned=6_000_000_000)
    url = reverse("admin:vouchers_issuanceplan_change", args=[plan.pk])
    data = _change_data(admin_client, url, layout="schedule", schedule='{"2021-02": 7000000000}',
                        carry_unsold="on" if plan.carry_unsold else "")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "발행 계획액" in str(response.context["adminform"].form.errors)
    plan.refresh_from_db()
    assert (plan.layout, plan.schedule) == ("equal", {})
    assert not plan.events.exists()
    data["schedule"] = '{"2021-02": 1000000000}'
    assert admin_client.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert (plan.layout, plan.schedule) == ("schedule", {"2021-02": 1_000_000_000})
    assert plan.events.get().user.username == "admin"


def test_the_tranche_admin_refuses_a_new_rate_on_a_tranche_on_sale_and_shows_the_trail(admin_client, sales):
    _plan, tranche, _ = sales
    url = reverse("admin:vouchers_tranche_change", args=[tranche.pk])
    data = _change_data(admin_client, url, discount_rate="0.2000")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "discount_rate" in response.context["adminform"].form.errors
    assert Tranche.objects.get(pk=tranche.pk).discount_rate == tranche.discount_rate
    data["discount_rate"], data["name"] = str(tranche.discount_rate), "새 이름"
    assert admin_client.post(url, data).status_code == 302
    admin_client.post(reverse("admin:vouchers_tranche_raise_quota", args=[tranche.pk]), {"quota": "9000000000"})
    page = admin_client.get(url).content.decode()
    assert "처리 기록" in page and "발행 한도 변경" in page and "user:admin" in page and "9,000,000,000" in page


def test_a_policy_added_in_the_admin_goes_through_the_service_with_the_clerk(admin_client):
    url = reverse("admin:vouchers_limitpolicy_add")
    response = admin_client.post(url, {"effective_from": "2099-03-01", "monthly_limit": "200000",
                                       "refund_ratio": "0.60", "note": ""})
    assert response.status_code == 302
    policy = LimitPolicy.objects.get()
    event = policy.events.get()
    assert (event.kind, event.user.username, event.after["monthly_limit"]) == ("policy_created", "admin", 200_000)


def test_plans_and_tranches_with_history_cannot_be_deleted_in_the_admin(admin_client, sales):
    plan, tranche, _ = sales
    assert admin_client.get(reverse("admin:vouchers_tranche_delete", args=[tranche.pk])).status_code == 403
    assert admin_client.get(reverse("admin:vouchers_issuanceplan_delete", args=[plan.pk])).status_code == 403


def test_reverting_a_tranche_from_its_history_goes_through_the_service_and_keeps_sold(admin_client, sales):
    _plan, tranche, _ = sales
    url = reverse("admin:vouchers_tranche_change", args=[tranche.pk])
    assert admin_client.post(url, _change_data(admin_client, url, name="바뀐 이름")).status_code == 302
    first = tranche.history.order_by("history_id").first()
    services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-AFTER-RENAME", face_value=10_000,
                               channel="zeropay_app")
    revert = reverse("admin:vouchers_tranche_simple_history", args=[tranche.pk, first.history_id])
    assert admin_client.post(revert, _change_data(admin_client, revert)).status_code == 302
    tranche.refresh_from_db()
    assert (tranche.name, tranche.sold) == (first.name, 310_000)  # the name came back; no sale was undone
    assert [e.kind for e in tranche.events.order_by("id")] == ["tranche_changed", "tranche_changed"]
