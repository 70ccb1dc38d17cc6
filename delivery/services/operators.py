"""Operators and their commission contracts: registering an operator chosen by public call (with the
brands it runs), suspending and reinstating it (its withdrawal is the wind-down, in
statements.py), and adding a contract.

A contract is a new row from a day on (UNIQUE operator, effective_from), added for today or a later
day (Asia/Seoul): a day that has begun keeps the rate its orders were reported at, and a contract in
force is never edited (409 contract_in_force). The operator row is locked first (delivery/locks.py).
"""
from django.db import IntegrityError, transaction

from delivery import inputs, rules
from delivery.choices import EventKind, OperatorStatus
from delivery.errors import refuse
from delivery.models import Brand, CommissionContract, Operator
from delivery.services import events
from jinju_portal import actors, clock
from vouchers import months

STATUS_FIELDS = ("status", "status_reason", "status_changed_at")


def _text(field, value, max_length) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 0 < len(text) <= max_length or not text.isprintable():
        raise refuse("invalid.operator", on=field, field=field)
    return text


@transaction.atomic
def register_operator(*, slug, name, business_number, selected_on, agreement_signed_on=None, brands=(), actor=None,
                      now=None) -> Operator:
    """An operator chosen by public call, with the brands it runs (possibly none). A slug or business
    number already registered → 400 invalid (on that field)."""
    now = clock.now_or(now)
    slug = _text("slug", slug, 50)
    name = _text("name", name, 100)
    number = inputs.clean_business_number(business_number)
    brand_names = [_text("brands", b, 50) for b in brands]
    if Operator.objects.filter(slug=slug).exists():
        raise refuse("invalid.operator", on="slug", field="slug")
    if Operator.objects.filter(business_number=number).exists():
        raise refuse("invalid.operator", on="business_number", field="business_number")
    if Brand.objects.filter(name__in=brand_names).exists():
        raise refuse("invalid.operator", on="brands", field="brands")
    operator = Operator.objects.create(slug=slug, name=name, business_number=number, selected_on=selected_on,
                                       agreement_signed_on=agreement_signed_on, status=OperatorStatus.ACTIVE,
                                       status_changed_at=now, created_at=now)
    Brand.objects.bulk_create([Brand(name=b, operator=operator) for b in brand_names])
    events.record(EventKind.OPERATOR_REGISTERED, actor=actor, now=now, operator=operator,
                  after={"slug": slug, "name": name, "business_number": number, "selected_on": selected_on,
                         "agreement_signed_on": agreement_signed_on, "brands": brand_names})
    return operator


def _locked(operator_id) -> Operator:
    if isinstance(operator_id, bool) or not isinstance(operator_id, int):
        raise refuse("not_found.operator")
    operator = Operator.objects.select_for_update().filter(pk=operator_id).first()
    if operator is None:
        raise refuse("not_found.operator")
    return operator


@transaction.atomic
def set_operator_status(*, operator_id, status, reason, actor, now=None) -> Operator:
    """Staff suspend an active operator or reinstate a suspended one, with the reason. Withdrawal is
    the wind-down (statements); anything else → 409 operator_status_conflict."""
    now = clock.now_or(now)
    if not actors.is_staff(actor):
        raise refuse("permission_denied")
    reason = inputs.clean_reason(reason)
    operator = _locked(operator_id)
    if status == OperatorStatus.WITHDRAWN:
        raise refuse("operator_status_conflict.withdraw")
    if status not in OperatorStatus.values or not rules.operator_may_move(operator.status, status):
        raise refuse("operator_status_conflict", status=operator.get_status_display())
    before = events.fields_of(operator, STATUS_FIELDS)
    operator.status, operator.status_reason, operator.status_changed_at = status, reason, now
    operator.save(update_fields=list(STATUS_FIELDS))
    events.record(EventKind.OPERATOR_STATUS_CHANGED, actor=actor, now=now, operator=operator, before=before,
                  after=events.fields_of(operator, STATUS_FIELDS), note=reason)
    return operator


@transaction.atomic
def add_contract(*, operator_id, rate, effective_from, waiver_monthly_food=0, note="", actor,
                 now=None) -> CommissionContract:
    """A new commission contract from `effective_from` (today or later in Asia/Seoul; a past day →
    409 contract_in_force). The same operator and day twice → 400 invalid_contract. A withdrawn
    operator takes no new contract."""
    now = clock.now_or(now)
    rate = inputs.clean_rate(rate)
    day = inputs.clean_day(effective_from)
    waiver = inputs.clean_waiver(waiver_monthly_food)
    note = inputs.clean_note(note)
    if not rules.contract_may_start(day, today=months.seoul(now).date()):
        raise refuse("contract_in_force", on="effective_from")
    operator = _locked(operator_id)
    if operator.status == OperatorStatus.WITHDRAWN:
        raise refuse("invalid_contract.operator")
    duplicate = refuse("invalid_contract.duplicate", on="effective_from", day=f"{day:%Y-%m-%d}")
    if CommissionContract.objects.filter(operator=operator, effective_from=day).exists():
        raise duplicate
    contract = CommissionContract(operator=operator, rate=rate, effective_from=day, waiver_monthly_food=waiver,
                                  note=note, created_by=actors.user_of(actor), created_at=now)
    try:
        with transaction.atomic():
            contract.save(force_insert=True)
    except IntegrityError:
        raise duplicate from None
    events.record(EventKind.CONTRACT_ADDED, actor=actor, now=now, operator=operator, contract=contract,
                  after={"rate": rate, "effective_from": day, "waiver_monthly_food": waiver, "note": note})
    return contract
