"""Merchants (가맹점): registration, approval with the eligibility rules, suspension, cancellation,
descriptive changes, and the industry list (with its excluded categories) staff keep.

Every change locks the merchant row (vouchers/locks.py), checks the transition table
(choices.MERCHANT_TRANSITIONS) and the rules (rules.merchant_refusal), and writes one VoucherEvent
with who, why and the fields before and after. A refusal writes nothing.
"""
from django.db import IntegrityError, transaction

from jinju_portal import bizno, clock
from jinju_portal.money import format_krw
from vouchers import inputs, locks, merchant_codes, months, rules
from vouchers.choices import EventKind, MerchantStatus
from vouchers.errors import refuse
from vouchers.models import Merchant, MerchantCategory
from vouchers.services import events

# What update_merchant may change; the status moves only through approve/suspend/cancel.
MERCHANT_EDITABLE = ("name", "category", "address", "dong", "phone", "representative", "annual_revenue",
                     "accepts_paper", "accepts_mobile")
CATEGORY_EDITABLE = ("name", "excluded", "excluded_reason")
STATUS_FIELDS = ("status", "status_reason", "status_changed_at")
CODE_ATTEMPTS = 5


def _status_of(merchant) -> dict:
    return events.fields_of(merchant, STATUS_FIELDS)


def _descriptive(merchant) -> dict:
    out = events.fields_of(merchant, MERCHANT_EDITABLE)
    out["category"] = merchant.category.code
    return out


def _clean_fields(data: dict) -> dict:
    """The cleaned descriptive fields among `data` (category → the row)."""
    out = {}
    for name, value in data.items():
        if name in inputs.MERCHANT_TEXT:
            out[name] = inputs.clean_merchant_text(name, value)
        elif name == "annual_revenue":
            out[name] = inputs.clean_annual_revenue(value)
        elif name == "category":
            out[name] = inputs.clean_category(value)
        elif name in ("accepts_paper", "accepts_mobile"):
            out[name] = value
    return out


def _ban_until(merchant) -> str:
    until = months.seoul(rules.merchant_ban_ends(merchant.illegal_exchange_cancelled_at))
    return f"{until:%Y-%m-%d}"


def _insert_with_code(merchant: Merchant) -> Merchant:
    """Save a new merchant under a fresh public code; a (very unlikely) code collision draws again,
    inside a savepoint so the surrounding transaction survives it. A duplicate business number is
    the caller's refusal."""
    for _attempt in range(CODE_ATTEMPTS):
        merchant.code = merchant_codes.new_code()
        try:
            with transaction.atomic():
                merchant.save(force_insert=True)
            return merchant
        except IntegrityError:
            if Merchant.objects.filter(business_number=merchant.business_number).exists():
                raise refuse("merchant_already_registered",
                             business_number=bizno.format_number(merchant.business_number)) from None
            merchant.pk = None
    raise RuntimeError("no free merchant code after several draws")


@transaction.atomic
def register_merchant(*, business_number, name, category, address, dong, representative, annual_revenue,
                      accepts_paper=False, accepts_mobile=False, phone="", actor=None, now=None) -> Merchant:
    """A merchant applies: status pending. A business number already registered is refused (409
    merchant_already_registered), unless that merchant is cancelled: then it registers again on the
    same row (its payments and trail stay with it), except within a year of a cancellation for
    illegal exchange (409 merchant_banned)."""
    now = clock.now_or(now)
    number = inputs.clean_business_number(business_number)
    fields = _clean_fields({"name": name, "category": category, "address": address, "dong": dong,
                            "representative": representative, "annual_revenue": annual_revenue, "phone": phone})
    fields["accepts_paper"], fields["accepts_mobile"] = inputs.clean_accepts(accepts_paper=accepts_paper,
                                                                             accepts_mobile=accepts_mobile)
    existing = Merchant.objects.select_for_update().filter(business_number=number).first()
    if existing is not None:
        if existing.status != MerchantStatus.CANCELLED:
            raise refuse("merchant_already_registered", business_number=bizno.format_number(number))
        if rules.merchant_banned(illegal_exchange_cancelled_at=existing.illegal_exchange_cancelled_at, now=now):
            raise refuse("merchant_banned", until=_ban_until(existing))
        before = {**_descriptive(existing), **_status_of(existing)}
        for key, value in fields.items():
            setattr(existing, key, value)
        existing.status, existing.status_reason, existing.status_changed_at = MerchantStatus.PENDING, "", now
        existing.save()
        events.record(EventKind.MERCHANT_REREGISTERED, actor=actor, now=now, merchant=existing, before=before,
                      after={**_descriptive(existing), **_status_of(existing)})
        return existing
    merchant = _insert_with_code(Merchant(business_number=number, status=MerchantStatus.PENDING,
                                          status_changed_at=now, created_at=now, **fields))
    events.record(EventKind.MERCHANT_REGISTERED, actor=actor, now=now, merchant=merchant,
                  after={"business_number": number, "code": merchant.code, **_descriptive(merchant),
                         **_status_of(merchant)})
    return merchant


def _locked(merchant_id) -> Merchant:
    merchant = locks.merchant(merchant_id)
    if merchant is None:
        raise refuse("not_found.merchant")
    return merchant


def _move(merchant, target, *, action: str, kind, reason: str, actor, now, extra=None) -> Merchant:
    """`action` is approve, suspend or cancel (the refusal's variant)."""
    if not rules.merchant_may_move(merchant.status, target):
        raise refuse(f"merchant_status_conflict.{action}", status=merchant.get_status_display())
    before = _status_of(merchant)
    changed = {"status": target, "status_reason": reason, "status_changed_at": now, **(extra or {})}
    before.update({k: getattr(merchant, k) for k in extra or {}})
    for key, value in changed.items():
        setattr(merchant, key, value)
    merchant.save(update_fields=list(changed))
    events.record(kind, actor=actor, now=now, merchant=merchant, before=before,
                  after=events.fields_of(merchant, changed), note=reason)
    return merchant


@transaction.atomic
def approve_merchant(*, merchant_id, actor, now=None, reason="") -> Merchant:
    """pending or suspended → approved, once the rules admit it (rules.merchant_refusal): no
    cancellation for illegal exchange within the year, a category not excluded, revenue at most
    3,000,000,000 KRW. The category row is locked too, so a category excluded meanwhile is seen."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason, required=False)
    merchant = _locked(merchant_id)
    if not rules.merchant_may_move(merchant.status, MerchantStatus.APPROVED):
        raise refuse("merchant_status_conflict.approve", status=merchant.get_status_display())
    category = locks.category(merchant.category_id)
    refusal = rules.merchant_refusal(annual_revenue=merchant.annual_revenue, category_excluded=category.excluded,
                                     illegal_exchange_cancelled_at=merchant.illegal_exchange_cancelled_at, now=now)
    if refusal == "merchant_banned":
        raise refuse(refusal, until=_ban_until(merchant))
    if refusal == "merchant_category_excluded":
        raise refuse(refusal, category=category.name, reason=category.excluded_reason)
    if refusal == "merchant_revenue_over_limit":
        raise refuse(refusal, revenue=format_krw(merchant.annual_revenue),
                     limit=format_krw(rules.MERCHANT_REVENUE_LIMIT))
    return _move(merchant, MerchantStatus.APPROVED, action="approve", kind=EventKind.MERCHANT_APPROVED,
                 reason=reason, actor=actor, now=now)


@transaction.atomic
def suspend_merchant(*, merchant_id, reason, actor, now=None) -> Merchant:
    """approved → suspended (it takes no vouchers until approved again); the reason is required."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    merchant = _locked(merchant_id)
    return _move(merchant, MerchantStatus.SUSPENDED, action="suspend", kind=EventKind.MERCHANT_SUSPENDED,
                 reason=reason, actor=actor, now=now)


@transaction.atomic
def cancel_merchant(*, merchant_id, reason, illegal_exchange: bool = False, actor, now=None) -> Merchant:
    """pending, approved or suspended → cancelled (final); the reason is required. Cancelled for
    illegal exchange (상품권 깡), the business number may not register again for a year."""
    now = clock.now_or(now)
    reason = inputs.clean_reason(reason)
    if not isinstance(illegal_exchange, bool):
        raise TypeError("illegal_exchange is True or False")  # a caller's bug, not a clerk's input
    merchant = _locked(merchant_id)
    extra = {"cancelled_for_illegal_exchange": True, "illegal_exchange_cancelled_at": now} if illegal_exchange else {}
    return _move(merchant, MerchantStatus.CANCELLED, action="cancel", kind=EventKind.MERCHANT_CANCELLED,
                 reason=reason, actor=actor, now=now, extra=extra)


@transaction.atomic
def update_merchant(*, merchant_id, changes: dict, actor, now=None, note="") -> Merchant:
    """Change descriptive fields (MERCHANT_EDITABLE); the business number, code and status do not
    change here. Nothing changed → no event."""
    now = clock.now_or(now)
    merchant = _locked(merchant_id)
    cleaned = _clean_fields({k: v for k, v in changes.items() if k in MERCHANT_EDITABLE})
    changed = {k: v for k, v in cleaned.items() if getattr(merchant, k) != v}
    if not changed:
        return merchant
    inputs.clean_accepts(accepts_paper=changed.get("accepts_paper", merchant.accepts_paper),
                         accepts_mobile=changed.get("accepts_mobile", merchant.accepts_mobile))
    before = {k: (merchant.category.code if k == "category" else getattr(merchant, k)) for k in changed}
    for key, value in changed.items():
        setattr(merchant, key, value)
    merchant.save(update_fields=list(changed))
    after = {k: (merchant.category.code if k == "category" else getattr(merchant, k)) for k in changed}
    events.record(EventKind.MERCHANT_CHANGED, actor=actor, now=now, merchant=merchant, before=before, after=after,
                  note=note)
    return merchant


# --- categories ----------------------------------------------------------------------------------

def _clean_category_fields(data: dict) -> dict:
    out = {}
    if "name" in data:
        out["name"] = inputs.clean_category_name(data["name"])
    if "excluded" in data:
        out["excluded"] = bool(data["excluded"])
    if "excluded_reason" in data:
        out["excluded_reason"] = inputs.clean_reason(data["excluded_reason"], required=False)
    return out


def _check_excluded_reason(excluded: bool, reason: str):
    if excluded and not reason:
        detail = refuse("invalid_category.reason_needed").detail
        raise refuse("invalid_category.reason_needed", {"excluded_reason": [detail]})


@transaction.atomic
def create_merchant_category(*, code, name, excluded=False, excluded_reason="", actor=None,
                             now=None) -> MerchantCategory:
    now = clock.now_or(now)
    code = inputs.clean_category_code(code)
    fields = _clean_category_fields({"name": name, "excluded": excluded, "excluded_reason": excluded_reason})
    _check_excluded_reason(fields["excluded"], fields["excluded_reason"])
    if MerchantCategory.objects.filter(code=code).exists():
        raise refuse("invalid_category.exists", on="code")
    category = MerchantCategory.objects.create(code=code, **fields)
    events.record(EventKind.CATEGORY_CREATED, actor=actor, now=now, category=category,
                  after={"code": code, **fields})
    return category


@transaction.atomic
def update_merchant_category(*, category_id, changes: dict, actor, now=None) -> MerchantCategory:
    """Rename a category or put it on (or off) the excluded list. Approved merchants of a category
    made excluded stay approved: staff suspend or cancel them one by one, with a reason each."""
    now = clock.now_or(now)
    category = locks.category(category_id)
    if category is None:
        raise refuse("not_found.category")
    cleaned = _clean_category_fields({k: v for k, v in changes.items() if k in CATEGORY_EDITABLE})
    changed = {k: v for k, v in cleaned.items() if getattr(category, k) != v}
    if not changed:
        return category
    _check_excluded_reason(changed.get("excluded", category.excluded),
                           changed.get("excluded_reason", category.excluded_reason))
    events.apply_changes(category, changed, EventKind.CATEGORY_CHANGED, actor=actor, now=now, category=category)
    return category
