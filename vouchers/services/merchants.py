"""Merchants (가맹점): registration, approval with the eligibility rules, suspension, cancellation,
descriptive changes, the city's merchant list imported many rows at once, and the industry list
(with its excluded categories) staff keep.

Every change locks the merchant row (vouchers/locks.py), checks the transition table
(choices.MERCHANT_TRANSITIONS) and the rules (rules.merchant_refusal), and writes one VoucherEvent
with who, why and the fields before and after. A refusal writes nothing.
"""
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from jinju_portal import bizno, clock
from jinju_portal.errors import ServiceError
from jinju_portal.money import format_krw
from vouchers import inputs, locks, merchant_codes, merchant_list, months, rules
from vouchers.choices import EventKind, MerchantStatus
from vouchers.errors import refuse
from vouchers.models import Merchant, MerchantCategory, VoucherEvent
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


# --- the city's merchant list (가맹점 명단), many rows at once ---------------------------------------

IMPORT_BATCH = 1_000  # rows per INSERT / UPDATE statement and per progress report
IMPORT_TEXT = ("name", "address", "dong", "representative")


@dataclass
class ImportedRow:
    """What importing one row of a merchant list did or, previewed, would do.

    action: create (a new merchant, pending), update (descriptive fields of an existing merchant),
    reregister (a cancelled merchant applying again: pending), unchanged, blank (an empty row),
    refused (`errors` says why, by field)."""

    number: int  # 1 = the first row under the headers
    action: str = "refused"
    errors: dict = field(default_factory=dict)  # field → [Korean sentence]
    fields: dict = field(default_factory=dict)  # the cleaned values (category → its row)
    merchant: Merchant | None = None  # the row in the database: as it was (preview), as written (import)
    before: dict = field(default_factory=dict)  # the changed fields' values before, as the sheet writes them

    @property
    def line(self) -> int:
        """The row's line in the sheet (its headers are line 1)."""
        return self.number + 1


def _categories_lookup() -> dict:
    """Category rows by code and by name (spaces ignored), read once for a whole sheet."""
    lookup = {}
    for category in MerchantCategory.objects.all():
        lookup[category.code.lower()] = category
        lookup["".join(category.name.split())] = category
    return lookup


def _read_row(values: dict, categories: dict) -> tuple[dict, dict]:
    """(cleaned fields, errors by field) of one sheet row, every cell checked (not the first only)."""
    fields, errors = {}, {}

    def attempt(name, read):
        try:
            fields[name] = read()
        except ServiceError as exc:
            errors[name] = [str(exc.detail)]

    def required_text(name):
        value = merchant_list.text(values.get(name))
        if not value:
            raise refuse("invalid_merchant.missing", on=name, field=merchant_list.BY_FIELD[name].header)
        return inputs.clean_merchant_text(name, value)

    def category():
        value = merchant_list.text(values.get("category"))
        if not value:
            raise refuse("invalid_merchant.missing", on="category", field=merchant_list.BY_FIELD["category"].header)
        found = categories.get(value.lower()) or categories.get("".join(value.split()))
        if found is None:
            raise refuse("invalid_category.unknown", on="category", value=value[:40])
        return found

    def business_number():
        value = merchant_list.text(values.get("business_number"))
        if not value:
            raise refuse("invalid_merchant.missing", on="business_number",
                          field=merchant_list.BY_FIELD["business_number"].header)
        return inputs.clean_business_number(value)

    attempt("business_number", business_number)
    attempt("name", lambda: required_text("name"))
    attempt("category", category)
    for name in ("address", "dong", "representative"):
        attempt(name, lambda name=name: required_text(name))
    attempt("phone", lambda: inputs.clean_merchant_text("phone", merchant_list.phone(values.get("phone"))))
    attempt("annual_revenue", lambda: inputs.clean_annual_revenue(merchant_list.revenue(values.get("annual_revenue"))))
    for name in ("accepts_paper", "accepts_mobile"):
        attempt(name, lambda name=name: merchant_list.yes_no(values.get(name), name))
    if "accepts_paper" in fields and "accepts_mobile" in fields:
        try:
            inputs.clean_accepts(accepts_paper=fields["accepts_paper"], accepts_mobile=fields["accepts_mobile"])
        except ServiceError as exc:
            errors["accepts_mobile"] = [str(exc.detail)]
    return fields, errors


def _plan_import(rows, *, now, lock: bool, progress=None) -> list[ImportedRow]:
    """Every row read and checked, duplicates in the sheet found, each row's outcome decided against
    the merchants as they are (locked when `lock`, in primary-key order). Writes nothing."""
    categories = _categories_lookup()
    plans = []
    for number, values in enumerate(rows, 1):
        plan = ImportedRow(number=number)
        if all(merchant_list.is_blank(v) for v in values.values()):
            plan.action = "blank"
        else:
            plan.fields, plan.errors = _read_row(values, categories)
        plans.append(plan)
        if progress and number % IMPORT_BATCH == 0:
            progress("check", number, len(rows))
    by_number = {}
    for plan in plans:
        if "business_number" in plan.fields:
            by_number.setdefault(plan.fields["business_number"], []).append(plan)
    for same in by_number.values():
        if len(same) > 1:
            detail = refuse("invalid_merchant.duplicate_in_file", lines=", ".join(str(p.line) for p in same)).detail
            for plan in same:
                plan.errors.setdefault("business_number", []).append(str(detail))
    numbers = [n for n, same in by_number.items() if len(same) == 1 and not same[0].errors]
    existing = locks.merchants_by_business_number(numbers) if lock else {
        m.business_number: m for m in Merchant.objects.filter(business_number__in=numbers).select_related("category")}
    for plan in plans:
        if plan.action == "blank":
            continue
        if plan.errors:
            plan.action = "refused"
            continue
        current = existing.get(plan.fields["business_number"])
        plan.merchant = current
        if current is None:
            plan.action = "create"
        elif current.status == MerchantStatus.CANCELLED:
            if rules.merchant_banned(illegal_exchange_cancelled_at=current.illegal_exchange_cancelled_at, now=now):
                plan.action = "refused"
                plan.errors = {"business_number": [str(refuse("merchant_banned", until=_ban_until(current)).detail)]}
            else:
                plan.action = "reregister"
                plan.before = {k: merchant_list.shown(k, getattr(current, k)) for k in MERCHANT_EDITABLE}
        else:
            changed = [k for k in MERCHANT_EDITABLE if getattr(current, k) != plan.fields[k]]
            plan.action = "update" if changed else "unchanged"
            plan.before = {k: merchant_list.shown(k, getattr(current, k)) for k in changed}
    return plans


def preview_merchant_import(*, rows, now=None) -> list[ImportedRow]:
    """What import_merchants would do with `rows` ({field: cell} per sheet row, in order), writing
    nothing and locking nothing: the admin's dry run."""
    return _plan_import(rows, now=clock.now_or(now), lock=False)


def _fresh_codes(n: int) -> list[str]:
    """n new public codes, distinct among themselves and from every merchant's."""
    codes: set[str] = set()
    while len(codes) < n:
        drawn = {merchant_codes.new_code() for _ in range(n - len(codes))} - codes
        codes |= drawn - set(Merchant.objects.filter(code__in=drawn).values_list("code", flat=True))
    return list(codes)


def _create_batch(batch, *, actor, now, note) -> list[VoucherEvent]:
    def build(plan):
        return Merchant(business_number=plan.fields["business_number"], status=MerchantStatus.PENDING,
                        status_changed_at=now, created_at=now, **{k: plan.fields[k] for k in MERCHANT_EDITABLE})

    merchants = [build(plan) for plan in batch]
    for merchant, code in zip(merchants, _fresh_codes(len(merchants))):
        merchant.code = code
    try:
        with transaction.atomic():
            Merchant.objects.bulk_create(merchants)
    except IntegrityError:
        # someone registered one of these numbers since the sheet was checked (a code drawn at the
        # same moment is the other, remote, cause): one at a time, each refusal on its own row
        merchants = []
        for plan in batch:
            try:
                merchants.append(_insert_with_code(build(plan)))
            except ServiceError as exc:
                plan.action, plan.errors = "refused", {"business_number": [str(exc.detail)]}
        batch = [plan for plan in batch if plan.action == "create"]
    made = []
    for plan, merchant in zip(batch, merchants):
        plan.merchant = merchant
        made.append(events.build(EventKind.MERCHANT_REGISTERED, actor=actor, now=now, merchant=merchant, note=note,
                                 after={"business_number": merchant.business_number, "code": merchant.code,
                                        **_descriptive(merchant), **_status_of(merchant)}))
    return made


def _update_batch(batch, *, actor, now, note) -> list[VoucherEvent]:
    made, written, names = [], [], set()
    for plan in batch:
        merchant = plan.merchant
        if plan.action == "reregister":
            before = {**_descriptive(merchant), **_status_of(merchant)}
            changed = dict(plan.fields)
            changed.pop("business_number")
            changed.update(status=MerchantStatus.PENDING, status_reason="", status_changed_at=now)
        else:
            changed = {k: plan.fields[k] for k in MERCHANT_EDITABLE if getattr(merchant, k) != plan.fields[k]}
            before = {k: (merchant.category.code if k == "category" else getattr(merchant, k)) for k in changed}
        for key, value in changed.items():
            setattr(merchant, key, value)
        names |= set(changed)
        written.append(merchant)
        if plan.action == "reregister":
            made.append(events.build(EventKind.MERCHANT_REREGISTERED, actor=actor, now=now, merchant=merchant,
                                     note=note, before=before,
                                     after={**_descriptive(merchant), **_status_of(merchant)}))
        else:
            after = {k: (merchant.category.code if k == "category" else getattr(merchant, k)) for k in changed}
            made.append(events.build(EventKind.MERCHANT_CHANGED, actor=actor, now=now, merchant=merchant, note=note,
                                     before=before, after=after))
    if written:
        Merchant.objects.bulk_update(written, fields=sorted(names))
    return made


@transaction.atomic
def import_merchants(*, rows, actor, now=None, note="", progress=None) -> list[ImportedRow]:
    """Register and update merchants from the city's list: `rows` are {field: cell} per sheet row
    (vouchers.merchant_list reads the cells, the shared cleaners check them). Every row is checked
    first; the good ones are then written in batches of IMPORT_BATCH and the bad ones skipped, each
    with its reasons (the returned rows, in order).

    A business number not yet registered becomes a merchant pending approval (as register_merchant:
    approval is a separate step, with its rules); a registered one has its descriptive fields
    updated (as update_merchant: never its status); a cancelled one registers again, pending,
    unless it was cancelled for illegal exchange within the year. The same number twice in the
    sheet refuses both rows. Every change writes its VoucherEvent (actor, `note`, before and after)
    in this transaction. The existing merchants concerned are locked in primary-key order.
    `progress(stage, done, total)`, when given, hears of each batch ("check", then "write")."""
    now = clock.now_or(now)
    note = str(note or "")
    plans = _plan_import(rows, now=now, lock=True, progress=progress)
    creates = [p for p in plans if p.action == "create"]
    updates = [p for p in plans if p.action in ("update", "reregister")]
    total, done = len(creates) + len(updates), 0
    if progress:
        progress("write", 0, total)
    for batches, write in ((creates, _create_batch), (updates, _update_batch)):
        for start in range(0, len(batches), IMPORT_BATCH):
            batch = batches[start:start + IMPORT_BATCH]
            VoucherEvent.objects.bulk_create(write(batch, actor=actor, now=now, note=note))
            done += len(batch)
            if progress:
                progress("write", done, total)
    return plans
