"""Issuance (staff and the month roll-over): tranches, their quotas and closing, the plan's
monthly schedule. Every change records a VoucherEvent with who did it."""
import datetime as dt
from decimal import Decimal

from django.db import transaction

from jinju_portal import clock
from jinju_portal.money import format_krw, to_rate
from vouchers import locks, months
from vouchers.choices import EventKind, Medium, PlanLayout
from vouchers.errors import refuse
from vouchers.models import IssuancePlan, MonthlyIssuanceReport, Tranche
from vouchers.selectors import month_report_figures, plan_monthly_layout
from vouchers.services import events
from vouchers.inputs import clean_quota

TRANCHE_EDITABLE = ("name", "discount_rate", "opens_at", "closes_at", "rotation")
# Once a tranche has opened (or sold anything) these describe sales already made: they stay.
FIXED_ONCE_ON_SALE = ("discount_rate", "opens_at", "rotation")


def _clean_rate(discount_rate) -> Decimal:
    rate = to_rate(discount_rate) if not isinstance(discount_rate, Decimal) else discount_rate
    if not Decimal(0) <= rate < Decimal(1):
        raise refuse("invalid_discount_rate", on="discount_rate")
    return rate


def _check_period(opens_at, closes_at):
    if closes_at <= opens_at:
        raise refuse("invalid_period", on="closes_at")


@transaction.atomic
def create_tranche(*, name: str, medium: str, quota: int, opens_at, closes_at, discount_rate="0.10",
                   rotation: bool = False, plan: IssuancePlan | None = None, month: str | None = None,
                   carried_in: int = 0, actor=None, now=None) -> Tranche:
    now = clock.now_or(now)
    if medium not in Medium.values:
        raise refuse("invalid_medium", {"medium": ["paper|mobile"]})
    clean_quota(quota)
    rate = _clean_rate(discount_rate)
    _check_period(opens_at, closes_at)
    month = month or months.month_of(opens_at)
    if not months.is_month(month):
        raise refuse("invalid_period", {"month": ["YYYY-MM"]})
    if plan is None:
        plan = IssuancePlan.objects.filter(year=int(month[:4]), medium=medium).first()
    tranche = Tranche.objects.create(name=name, medium=medium, quota=quota, discount_rate=rate,
                                     opens_at=opens_at, closes_at=closes_at, rotation=rotation, plan=plan,
                                     month=month, carried_in=carried_in)
    events.record(EventKind.TRANCHE_CREATED, actor=actor, now=now, tranche=tranche, plan=plan,
                  after=events.fields_of(tranche, ("name", "medium", "quota", "discount_rate", "opens_at",
                                                   "closes_at", "rotation", "month", "carried_in")))
    return tranche


@transaction.atomic
def update_tranche(*, tranche_id, changes: dict, actor=None, now=None) -> Tranche:
    """Staff edit a tranche's description. The discount rate, opening time and 5부제 of a tranche
    that has opened or sold are fixed (409 `tranche_on_sale`); its closing time may move, but not
    into the past (close it early instead). Quota and closing have their own services."""
    now = clock.now_or(now)
    unknown = set(changes) - set(TRANCHE_EDITABLE)
    if unknown:
        raise refuse("invalid_period", {name: ["이 항목은 여기서 바꿀 수 없습니다."] for name in sorted(unknown)})
    tranche = locks.tranche(tranche_id)
    if tranche is None:
        raise refuse("not_found.tranche")
    changed = {k: v for k, v in changes.items() if getattr(tranche, k) != v}
    if not changed:
        return tranche
    if "discount_rate" in changed:
        changed["discount_rate"] = _clean_rate(changed["discount_rate"])
    on_sale = tranche.opens_at <= now or tranche.sold > 0
    fixed = [k for k in FIXED_ONCE_ON_SALE if k in changed]
    if on_sale and fixed:
        labels = ", ".join(str(Tranche._meta.get_field(k).verbose_name) for k in fixed)
        raise refuse("tranche_on_sale", on=tuple(fixed), names=labels)
    opens_at, closes_at = changed.get("opens_at", tranche.opens_at), changed.get("closes_at", tranche.closes_at)
    _check_period(opens_at, closes_at)
    if on_sale and "closes_at" in changed and closes_at <= now:
        raise refuse("invalid_period", {"closes_at": ["판매 중인 회차의 종료를 지난 시각으로 정할 수 없습니다. "
                                                      "조기 마감을 쓰세요."]})
    # only the changed fields: a full save would write back a stale `sold` (invariant 1)
    events.apply_changes(tranche, changed, EventKind.TRANCHE_CHANGED, actor=actor, now=now, tranche=tranche)
    return tranche


@transaction.atomic
def raise_tranche_quota(*, tranche_id, quota: int, actor=None, now=None) -> Tranche:
    """Set a new quota; it may never fall below what is already sold (or held)."""
    now = clock.now_or(now)
    clean_quota(quota)
    tranche = locks.tranche(tranche_id)
    if tranche is None:
        raise refuse("not_found.tranche")
    if quota < tranche.sold:
        raise refuse("quota_below_sold", sold=format_krw(tranche.sold))
    before = tranche.quota
    if quota == before:
        return tranche
    tranche.quota = quota
    tranche.save(update_fields=["quota"])  # never writes `sold`: concurrent sales keep their count
    events.record(EventKind.QUOTA_RAISED, actor=actor, now=now, tranche=tranche, before={"quota": before},
                  after={"quota": quota, "sold": tranche.sold})
    return tranche


def _close(tranche, *, now, actor, note=""):
    before = tranche.closed_at
    tranche.closed_at = min(now, tranche.closes_at)
    return events.build(EventKind.TRANCHE_CLOSED, actor=actor, now=now, tranche=tranche,
                        before={"closed_at": before}, after={"closed_at": tranche.closed_at}, note=note)


@transaction.atomic
def close_tranche(*, tranche_id, actor=None, now=None) -> Tranche:
    """Stop sales now (early close). Closing a closed tranche changes nothing."""
    now = clock.now_or(now)
    tranche = locks.tranche(tranche_id)
    if tranche is None:
        raise refuse("not_found.tranche")
    if tranche.closed_at is None:
        event = _close(tranche, now=now, actor=actor)
        tranche.save(update_fields=["closed_at"])
        event.save(force_insert=True)
    return tranche


def set_plan_schedule(*, plan_id, schedule: dict, actor=None, now=None) -> IssuancePlan:
    """Staff lay out a plan month by month; the total may not exceed the plan."""
    return update_plan(plan_id=plan_id, changes={"layout": PlanLayout.SCHEDULE, "schedule": schedule}, actor=actor,
                       now=now)


PLAN_EDITABLE = ("planned", "discount_rate", "rotation", "carry_unsold", "layout", "schedule")


@transaction.atomic
def create_plan(*, year: int, medium: str, planned: int, discount_rate="0.10", rotation=False, carry_unsold=True,
                layout=PlanLayout.EQUAL, schedule=None, actor=None, now=None) -> IssuancePlan:
    """A year's issuance plan for one medium; a schedule is checked before anything is saved."""
    now = clock.now_or(now)
    if medium not in Medium.values:
        raise refuse("invalid_medium", {"medium": ["paper|mobile"]})
    clean_quota(planned)
    schedule = _clean_schedule(schedule or {}, year=year, planned=planned)
    plan = IssuancePlan.objects.create(year=year, medium=medium, planned=planned,
                                       discount_rate=_clean_rate(discount_rate), rotation=rotation,
                                       carry_unsold=carry_unsold, layout=layout, schedule=schedule)
    events.record(EventKind.PLAN_CHANGED, actor=actor, now=now, plan=plan,
                  after=events.fields_of(plan, ("year", "medium") + PLAN_EDITABLE), note="created")
    return plan


@transaction.atomic
def update_plan(*, plan_id, changes: dict, actor=None, now=None) -> IssuancePlan:
    """Staff change a plan (the admin form): a monthly schedule is checked before anything is saved
    (months of the plan's year, amounts ≥ 0, total ≤ planned), and the planned amount may not fall
    below what its tranches already issued."""
    now = clock.now_or(now)
    plan = IssuancePlan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise refuse("not_found.plan")
    changed = {k: v for k, v in changes.items() if k in PLAN_EDITABLE and getattr(plan, k) != v}
    planned = changed.get("planned", plan.planned)
    layout = changed.get("layout", plan.layout)
    if "schedule" in changed or layout == PlanLayout.SCHEDULE and "planned" in changed:
        changed["schedule"] = _clean_schedule(changes.get("schedule", plan.schedule), year=plan.year,
                                              planned=planned)
    if "discount_rate" in changed:
        changed["discount_rate"] = _clean_rate(changed["discount_rate"])
    if "planned" in changed:
        issued = sum(q for _m, q in plan.tranches.values_list("month", "quota"))
        if not isinstance(planned, int) or isinstance(planned, bool) or planned < issued:
            raise refuse("invalid_schedule", {"planned": [f"이미 발행한 {format_krw(issued)}보다 작게 정할 수 없습니다."]})
    changed = {k: v for k, v in changed.items() if getattr(plan, k) != v}
    if not changed:
        return plan
    events.apply_changes(plan, changed, EventKind.PLAN_CHANGED, actor=actor, now=now, plan=plan)
    return plan


def _clean_schedule(schedule, *, year: int, planned: int) -> dict:
    if not isinstance(schedule, dict):
        raise refuse("invalid_schedule", on="schedule")
    cleaned = {}
    for month, amount in schedule.items():
        if not months.is_month(month) or int(month[:4]) != year:
            raise refuse("invalid_schedule.month", on="schedule", year=year, month=month)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise refuse("invalid_schedule.amount", on="schedule", month=month)
        cleaned[month] = amount
    total = sum(cleaned.values())
    if total > planned:
        figures = {"total": format_krw(total), "planned": format_krw(planned)}
        raise refuse("invalid_schedule.over_plan", on="schedule", **figures)
    return dict(sorted(cleaned.items()))


# --- the 1st of the month --------------------------------------------------------------------------------

@transaction.atomic
def month_rollover(*, now=None) -> dict:
    """On the 1st (00:05 KST): report last month per medium, close last month's tranches (moving
    unsold quota into this month where the plan says so), open this month's tranches.

    Idempotent and safe late: each step checks what is already done (report exists, tranche closed,
    this month's tranche exists), under a lock on the plan rows."""
    now = clock.now_or(now)
    month = months.month_of(now)
    previous = months.add_months(month, -1)
    summary = {"month": month, "reports": 0, "closed": 0, "opened": 0, "carried": 0}
    plans = list(IssuancePlan.objects.select_for_update().filter(year__in={int(month[:4]), int(previous[:4])})
                 .order_by("pk"))
    # 1. the report reflects last month as sold, before any quota moves
    for medium in Medium.values:
        if MonthlyIssuanceReport.objects.filter(month=previous, medium=medium).exists():
            continue
        figures = month_report_figures(month=previous, medium=medium)
        plan = next((p for p in plans if p.year == int(previous[:4]) and p.medium == medium), None)
        planned = dict(plan_monthly_layout(plan=plan, current_month=previous)).get(previous, 0) if plan else 0
        MonthlyIssuanceReport.objects.create(month=previous, medium=medium, planned=planned, quota=figures["quota"],
                                             sold=figures["sold"], buyers=figures["buyers"],
                                             purchases=figures["purchases"], created_at=now)
        summary["reports"] += 1
    # 2. close last month's tranches, carrying unsold quota where the plan says so
    carry_by_medium = {m: 0 for m in Medium.values}
    closing = []
    for tranche in Tranche.objects.select_for_update().filter(month=previous).order_by("pk"):
        if tranche.closed_at is None:
            event = _close(tranche, now=now, actor=None, note="month_rollover")
            summary["closed"] += 1
            if tranche.plan_id and tranche.plan.carry_unsold and tranche.plan.year == int(month[:4]):
                unsold = tranche.quota - tranche.sold
                tranche.carried_out = unsold
                event.before["quota"], event.after["quota"] = tranche.quota, tranche.sold
                event.after["carried_out"] = unsold
                tranche.quota = tranche.sold
                carry_by_medium[tranche.medium] += unsold
            tranche.save(update_fields=["closed_at", "quota", "carried_out"])
            closing.append(event)
    for event in closing:
        event.save(force_insert=True)
    # 3. open this month's tranche of every plan of the year that has none yet
    for plan in plans:
        if plan.year != int(month[:4]) or plan.tranches.filter(month=month).exists():
            continue
        carried = carry_by_medium.get(plan.medium, 0)
        quota = dict(plan_monthly_layout(plan=plan, current_month=month, carried={month: carried}))[month]
        if quota <= 0:
            continue
        start = months.month_start(month)
        create_tranche(name=f"{month} {Medium(plan.medium).label}", medium=plan.medium, quota=quota,
                       opens_at=start + dt.timedelta(hours=9),
                       closes_at=months.month_start(months.add_months(month, 1)),
                       discount_rate=plan.discount_rate, rotation=plan.rotation, plan=plan, month=month,
                       carried_in=carried, now=now)
        summary["opened"] += 1
        summary["carried"] += carried
    return summary
