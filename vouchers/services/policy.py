"""The purchase-limit policy: a new policy starts on the 1st of a month that has not begun, so it
never rewrites a past (or the running) month; a policy whose month has begun is history."""
import datetime as dt
from decimal import Decimal

from django.db import transaction

from jinju_portal import clock
from vouchers import months, rules
from vouchers.choices import EventKind
from vouchers.errors import refuse
from vouchers.models import LimitPolicy
from vouchers.services import events

POLICY_FIELDS = ("effective_from", "monthly_limit", "paper_monthly_limit", "mobile_monthly_limit", "yearly_limit",
                 "refund_ratio", "note")


def validate_policy(*, effective_from: dt.date, refund_ratio, now=None, allow_past=False):
    """Starts on a 1st of a month not yet begun; the refund ratio is 60–80 %."""
    now = clock.now_or(now)
    errors = {}
    if effective_from.day != 1:
        errors["effective_from"] = ["매월 1일부터만 적용할 수 있습니다."]
    elif not allow_past and rules.policy_is_history(effective_from, now):
        errors["effective_from"] = ["이미 시작된 달에는 적용할 수 없습니다. 다음 달 1일 이후로 정해 주세요."]
    if refund_ratio is None or not Decimal("0.60") <= Decimal(refund_ratio) <= Decimal("0.80"):
        errors["refund_ratio"] = ["0.60에서 0.80 사이여야 합니다."]
    if errors:
        raise refuse("invalid_policy", errors)


@transaction.atomic
def create_limit_policy(*, effective_from: dt.date, monthly_limit: int, refund_ratio=Decimal("0.60"),
                        paper_monthly_limit=None, mobile_monthly_limit=None, yearly_limit=None, note="",
                        actor=None, now=None, allow_past=False) -> LimitPolicy:
    now = clock.now_or(now)
    validate_policy(effective_from=effective_from, refund_ratio=refund_ratio, now=now, allow_past=allow_past)
    if LimitPolicy.objects.filter(effective_from=effective_from).exists():
        raise refuse("invalid_policy", {"effective_from": ["이 날짜에 시작하는 정책이 이미 있습니다."]})
    policy = LimitPolicy.objects.create(effective_from=effective_from, monthly_limit=monthly_limit,
                                        refund_ratio=refund_ratio, paper_monthly_limit=paper_monthly_limit,
                                        mobile_monthly_limit=mobile_monthly_limit, yearly_limit=yearly_limit,
                                        note=note)
    events.record(EventKind.POLICY_CREATED, actor=actor, now=now, policy=policy,
                  after=events.fields_of(policy, POLICY_FIELDS))
    return policy


def policy_editable(policy: LimitPolicy, *, now=None) -> bool:
    return not rules.policy_is_history(policy.effective_from, clock.now_or(now))


@transaction.atomic
def update_limit_policy(*, policy_id, changes: dict, actor=None, now=None) -> LimitPolicy:
    """Change a policy that has not begun yet (409 `policy_in_force` otherwise: add a new one)."""
    now = clock.now_or(now)
    policy = LimitPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise refuse("not_found.policy")
    if not policy_editable(policy, now=now):
        raise refuse("policy_in_force")
    changed = {k: v for k, v in changes.items() if k in POLICY_FIELDS and getattr(policy, k) != v}
    if not changed:
        return policy
    validate_policy(effective_from=changed.get("effective_from", policy.effective_from),
                    refund_ratio=changed.get("refund_ratio", policy.refund_ratio), now=now)
    if ("effective_from" in changed
            and LimitPolicy.objects.filter(effective_from=changed["effective_from"]).exclude(pk=policy.pk).exists()):
        raise refuse("invalid_policy", {"effective_from": ["이 날짜에 시작하는 정책이 이미 있습니다."]})
    events.apply_changes(policy, changed, EventKind.POLICY_CHANGED, actor=actor, now=now, policy=policy)
    return policy



