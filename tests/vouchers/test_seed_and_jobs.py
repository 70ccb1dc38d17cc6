"""seed_demo figures, the scheduled jobs (roll-over, release, expiry) run late and twice, the beat."""
import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from tests.seed_support import SeedOut
from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import IssuancePlanFactory, TrancheFactory
from vouchers import services, tasks
from vouchers.models import (IssuancePlan, LimitPolicy, MonthlyIssuanceReport, PaperNote, Purchase, Tranche, Wallet,
                             WalletEntry)

pytestmark = [pytest.mark.django_db, pytest.mark.clock]
KST = ZoneInfo("Asia/Seoul")




@pytest.mark.usefixtures("frozen_clock")  # a second run in a new month opens that month's demo tranches
def test_seed_demo_reproduces_the_2021_figures_and_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    plans = {p.medium: p.planned for p in IssuancePlan.objects.filter(year=2021)}
    assert plans == {"paper": 6_000_000_000, "mobile": 19_000_000_000}
    january = {t.medium: t.quota for t in Tranche.objects.filter(month="2021-01")}
    assert january == {"paper": 2_000_000_000, "mobile": 8_000_000_000}
    assert LimitPolicy.objects.get().monthly_limit == 300_000
    assert Wallet.objects.get(citizen__user__username="citizen").balance == 100_000
    snapshot = (Purchase.objects.count(), PaperNote.objects.count(), WalletEntry.objects.count(),
                list(Tranche.objects.order_by("pk").values_list("sold", flat=True)))
    from vouchers import seed

    second = SeedOut()
    seed.run(second)
    assert second.created_items == []
    assert snapshot == (Purchase.objects.count(), PaperNote.objects.count(), WalletEntry.objects.count(),
                        list(Tranche.objects.order_by("pk").values_list("sold", flat=True)))
    assert_invariants()


@pytest.mark.usefixtures("frozen_clock")  # seeded for this month, checked open now
def test_seed_demo_opens_a_demonstration_tranche_this_month_outside_the_2021_plan(client):
    from django.utils import timezone

    call_command("seed_demo", stdout=StringIO())
    open_now = Tranche.objects.filter(opens_at__lte=timezone.now(), closes_at__gt=timezone.now(),
                                      closed_at__isnull=True)
    assert sorted(open_now.values_list("medium", flat=True)) == ["mobile", "paper"]
    assert not open_now.filter(plan__isnull=False).exists()
    body = client.get("/api/v1/vouchers/plans/?year=2021").json()
    assert {p["medium"]: p["issued"] for p in body} == {"paper": 2_000_000_000, "mobile": 8_000_000_000}


def _january(plan_paper, plan_mobile):
    opens = dt.datetime(2021, 1, 4, 9, tzinfo=KST)
    closes = dt.datetime(2021, 2, 1, tzinfo=KST)
    paper = TrancheFactory(medium="paper", quota=2_000_000_000, plan=plan_paper, month="2021-01", opens_at=opens,
                           closes_at=closes)
    mobile = TrancheFactory(medium="mobile", quota=8_000_000_000, plan=plan_mobile, month="2021-01", opens_at=opens,
                            closes_at=closes)
    return paper, mobile


def test_month_rollover_reports_closes_carries_and_opens_once_even_late_and_twice():
    plan_paper = IssuancePlanFactory(medium="paper", planned=6_000_000_000, carry_unsold=True)
    plan_mobile = IssuancePlanFactory(medium="mobile", planned=19_000_000_000, carry_unsold=False)
    paper, mobile = _january(plan_paper, plan_mobile)
    services.purchase_vouchers(tranche_id=paper.pk, buyer_ci="CI-JAN", face_value=300_000, channel="branch",
                               now=dt.datetime(2021, 1, 20, tzinfo=KST))
    late = dt.datetime(2021, 2, 3, 14, 0, tzinfo=KST)  # ran two days late
    summary = services.month_rollover(now=late)
    assert summary["reports"] == 2 and summary["opened"] == 2
    report = MonthlyIssuanceReport.objects.get(month="2021-01", medium="paper")
    assert (report.quota, report.sold, report.buyers, report.purchases) == (2_000_000_000, 300_000, 1, 1)
    paper.refresh_from_db()
    mobile.refresh_from_db()
    assert paper.closed_at is not None and paper.quota == 300_000 and paper.carried_out == 1_999_700_000
    assert mobile.quota == 8_000_000_000 and mobile.carried_out == 0  # this plan does not carry
    feb_paper = Tranche.objects.get(plan=plan_paper, month="2021-02")
    feb_mobile = Tranche.objects.get(plan=plan_mobile, month="2021-02")
    # paper: (6 bn − 300,000 issued in January − carry) / 11 months, plus the carry
    assert feb_paper.carried_in == 1_999_700_000
    assert feb_paper.quota == (6_000_000_000 - 300_000 - 1_999_700_000) // 11 + 1_999_700_000
    assert feb_mobile.quota == (19_000_000_000 - 8_000_000_000) // 11
    assert feb_paper.is_open(late)
    before = (list(Tranche.objects.order_by("pk").values_list("quota", "sold", "closed_at")),
              MonthlyIssuanceReport.objects.count())
    again = services.month_rollover(now=late + dt.timedelta(minutes=1))
    assert again == {"month": "2021-02", "reports": 0, "closed": 0, "opened": 0, "carried": 0}
    assert before == (list(Tranche.objects.order_by("pk").values_list("quota", "sold", "closed_at")),
                      MonthlyIssuanceReport.objects.count())
    assert_invariants()


def test_month_rollover_on_time_opens_sales_at_nine_on_the_first():
    plan = IssuancePlanFactory(medium="mobile", planned=12_000_000_000, layout="schedule",
                               schedule={"2021-03": 2_500_000_000})
    services.month_rollover(now=dt.datetime(2021, 3, 1, 0, 5, tzinfo=KST))
    march = Tranche.objects.get(plan=plan, month="2021-03")
    assert march.quota == 2_500_000_000
    assert march.opens_at == dt.datetime(2021, 3, 1, 9, tzinfo=KST)
    assert not march.is_open(dt.datetime(2021, 3, 1, 0, 5, tzinfo=KST))


def test_set_plan_schedule_refuses_more_than_the_plan():
    plan = IssuancePlanFactory(medium="paper", planned=6_000_000_000)
    with pytest.raises(services.InvalidInput):
        services.set_plan_schedule(plan_id=plan.pk, schedule={"2021-02": 7_000_000_000})
    services.set_plan_schedule(plan_id=plan.pk, schedule={"2021-02": 1_000_000_000})
    from vouchers.selectors import plan_monthly_layout

    layout = dict(plan_monthly_layout(plan=IssuancePlan.objects.get(pk=plan.pk)))
    assert layout["2021-02"] == 1_000_000_000 and layout["2021-03"] == 0


def test_expiry_of_notes_and_wallet_credits_after_five_years_is_idempotent():
    mobile, paper = TrancheFactory(medium="mobile"), TrancheFactory(medium="paper")
    bought_at = mobile.opens_at + dt.timedelta(minutes=1)
    m = services.purchase_vouchers(tranche_id=mobile.pk, buyer_ci="CI-OLD", face_value=100_000,
                                   channel="zeropay_app", now=bought_at)
    services.purchase_vouchers(tranche_id=paper.pk, buyer_ci="CI-OLD", face_value=20_000, channel="branch",
                               now=bought_at)
    services.move_wallet(citizen_id=m.citizen_id, amount=-30_000, kind="payment", now=bought_at)
    assert services.expire_notes_and_credits(now=bought_at + dt.timedelta(days=365 * 5 - 1)) == {
        "notes_expired": 0, "credit_expired": 0}
    later = bought_at + dt.timedelta(days=365 * 5 + 2)
    assert services.expire_notes_and_credits(now=later) == {"notes_expired": 2, "credit_expired": 70_000}
    assert services.expire_notes_and_credits(now=later) == {"notes_expired": 0, "credit_expired": 0}
    assert Wallet.objects.get().balance == 0
    assert set(PaperNote.objects.values_list("status", flat=True)) == {"expired"}
    assert_invariants()


def test_tasks_are_thin_and_the_beat_has_them_with_expiry_shorter_than_the_period():
    from jinju_portal.celery import BEAT_SCHEDULE

    names = {entry["task"]: entry for entry in BEAT_SCHEDULE.values()}
    for task in ("vouchers.tasks.month_rollover", "vouchers.tasks.release_lapsed_reservations",
                 "vouchers.tasks.expire_notes_and_credits"):
        assert task in names
    assert names["vouchers.tasks.release_lapsed_reservations"]["options"]["expires"] < 60
    assert tasks.release_lapsed_reservations.delay().get() == 0
    assert tasks.expire_notes_and_credits.delay().get() == {"notes_expired": 0, "credit_expired": 0}
