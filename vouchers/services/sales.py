"""Selling vouchers: the partner sale (bank counter, Zeropay app) and the sale engine that the web
reservation shares.

On PostgreSQL a sale runs as ONE statement (vouchers/db/sql.py), prepared once per connection and
executed in autocommit: usage claim → tranche UPDATE → purchase → wallet credit + ledger line or
paper notes, then the statement's own commit. Refusals are named afterwards from the statement's
diagnostics or a few reads, through the same rules (vouchers/rules.py) that the ORM twin
`purchase_orm` (SQLite in `make run`, and the "orm" leg of every rule test) checks before it
writes. Lock order: vouchers/locks.py.
"""
import datetime as dt
from dataclasses import dataclass, field

from django.db import DataError, connection, transaction
from django.db.models import F, Sum

from jinju_portal import actors, clock
from jinju_portal.errors import RuleViolation
from jinju_portal.identity import hash_identity
from jinju_portal.money import discounted_price, format_krw
from vouchers import inputs, locks, months, notes, rules
from vouchers.choices import Medium, PurchaseStatus
from vouchers.db import session, sql
from vouchers.errors import Code, message, refuse
from vouchers.models import DEFAULT_MONTHLY_LIMIT, Citizen, MonthlyUsage, Purchase, Reservation, Tranche
from vouchers.selectors import limits_for_month
from vouchers.services.wallet import deliver

fast_sql = session.fast_sql


@dataclass(frozen=True)
class PurchaseResult:
    """What a sale answers (API.md "A purchase"), without reading the purchase back."""
    id: int
    tranche: int
    medium: str
    face_value: int
    price: int
    status: str
    created_at: dt.datetime
    month: str
    buyer_month_purchased: int
    buyer_month_remaining: int
    serials: list = field(default_factory=list)
    citizen_id: int | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "tranche": self.tranche, "medium": self.medium, "face_value": self.face_value,
                "price": self.price, "status": self.status, "created_at": self.created_at, "month": self.month,
                "buyer_month_purchased": self.buyer_month_purchased,
                "buyer_month_remaining": self.buyer_month_remaining, "serials": list(self.serials)}


@dataclass(frozen=True)
class SaleIdempotency:
    """An Idempotency-Key to settle inside the sale statement (see sql.KEYED_ANSWER): the shared
    record's owner, key and request hash, and `created_at` exactly as the API answer shows it."""
    owner: str
    key: str
    request_hash: str
    created_at_text: str


class AlreadyAnswered(RuleViolation):
    """This Idempotency-Key already has a stored answer: the caller replays it."""

    def __init__(self):
        super().__init__(Code.IDEMPOTENT_REPLAY.value, message("idempotent_replay"))


class Retry(Exception):
    """The statement lost a harmless race before writing anything (a brand-new buyer inserted by a
    concurrent request after our snapshot): run it again."""


# --- the figures the rules look at ------------------------------------------------------------------

def usage_figures(usage: MonthlyUsage | None, month: str) -> rules.UsageFigures:
    """A usage row's copied limits and totals, or (no row yet) the limits in force with nothing bought."""
    if usage is not None:
        return rules.UsageFigures(monthly_limit=usage.monthly_limit, purchased=usage.purchased,
                                  paper_limit=usage.paper_limit, mobile_limit=usage.mobile_limit,
                                  paper_purchased=usage.paper_purchased, mobile_purchased=usage.mobile_purchased,
                                  yearly_limit=usage.yearly_limit)
    limits = limits_for_month(month)
    return rules.UsageFigures(monthly_limit=limits.monthly_limit, paper_limit=limits.paper_monthly_limit,
                              mobile_limit=limits.mobile_monthly_limit, yearly_limit=limits.yearly_limit)


def year_total(citizen_id, month: str):
    """What the buyer bought in the other months of `month`'s year (for a yearly cap), asked lazily."""
    def total():
        if citizen_id is None:
            return 0
        return (MonthlyUsage.objects.filter(citizen_id=citizen_id, month__startswith=month[:4] + "-")
                .exclude(month=month).aggregate(s=Sum("purchased", default=0))["s"])
    return total


# --- the partner sale -------------------------------------------------------------------------------

def purchase_vouchers(*, tranche_id=None, tranche=None, buyer_ci: str | None = None, citizen: Citizen | None = None,
                      face_value, channel: str, actor=None, buyer_name: str | None = None,
                      buyer_birth_year: int | None = None, idempotency_key: str = "",
                      idempotency: SaleIdempotency | None = None, now=None) -> PurchaseResult:
    """Sell `face_value` of a tranche to one buyer (by identity CI or an existing Citizen). `actor`:
    the selling ApiClient, the buying web user, or None (seed). Not decorated: on PostgreSQL the
    sale is one autocommit statement, its own transaction (a savepoint inside a caller's).

    Paper: issues whole notes, largest first, serials in the answer. Mobile: credits the buyer's
    wallet with a ledger line. Refusals (first failing, in order): tranche_not_open,
    invalid_buyer / not_rotation_day, invalid_face_value, monthly_limit_exceeded (or
    yearly_limit_exceeded when the city sets a yearly cap), tranche_sold_out.

    `idempotency` (PostgreSQL): store the API answer under that key in the same statement; a key
    already answered raises AlreadyAnswered (the caller replays the stored answer).
    """
    now = clock.now_or(now)
    x = inputs.clean_face_value(face_value)
    tid = inputs.clean_tranche_id(tranche if tranche is not None else tranche_id)
    channel = inputs.clean_channel(channel)
    ci_hash = hash_identity(inputs.clean_buyer_ci(buyer_ci)) if citizen is None else None
    name = inputs.clean_buyer_name(buyer_name)
    birth_year = inputs.clean_birth_year(buyer_birth_year, now)
    medium = inputs.tranche_medium(tid)
    month = months.month_of(now)
    client, user = actors.client_of(actor), actors.user_of(actor)

    def refuse_from_reads():
        _refuse_from_reads(tid=tid, ci_hash=ci_hash, citizen=citizen, birth_year=birth_year, x=x, now=now,
                           month=month)

    # Amounts no limit could admit, or not payable in the medium's units, never reach the write path
    # (no notes drawn for 10^15 won): name the refusal from plain reads, in order.
    if not inputs.within_sale_maximum(x) or not notes.payable(medium, x):
        refuse_from_reads()
        raise refuse("invalid_face_value.too_large", on="face_value")

    denoms = notes.note_breakdown(x) if medium == Medium.PAPER else []
    serials = [notes.new_serial() for _ in denoms]
    if not fast_sql():
        return purchase_orm(tid=tid, ci_hash=ci_hash, citizen=citizen, name=name, birth_year=birth_year, x=x,
                            channel=channel, api_client=client, user=user, ikey=idempotency_key, now=now,
                            month=month, denoms=denoms, serials=serials)

    params = {
        "ci": ci_hash, "cid": citizen.pk if citizen is not None else None, "name": name, "birth_year": birth_year,
        "now": now, "today": months.seoul(now).date(), "month": month,
        "month_start": months.first_day(month), "year_prefix": month[:4] + "-%",
        "default_limit": DEFAULT_MONTHLY_LIMIT, "tid": tid, "medium": medium, "x": x,
        "xp": x if medium == Medium.PAPER else 0, "xm": x if medium == Medium.MOBILE else 0,
        "channel": channel, "api_client_id": getattr(client, "pk", None), "user_id": getattr(user, "pk", None),
        "ikey": idempotency_key or "", "expires": rules.expires(now), "serials": serials, "denoms": denoms,
    }
    if idempotency is not None:
        params.update(io=idempotency.owner, ik=idempotency.key, ih=idempotency.request_hash,
                      created_at_text=idempotency.created_at_text, ikey=idempotency.key)
    statement = (citizen is None, "purchase_keyed" if idempotency is not None else "purchase", medium)
    row = sell(statement, params, x=x, now=now, month=month, medium=medium, refuse_from_reads=refuse_from_reads)
    return PurchaseResult(id=row["purchase_id"], tranche=tid, medium=medium, face_value=x, price=row["price"],
                          status=PurchaseStatus.COMPLETED, created_at=now, month=month,
                          buyer_month_purchased=row["month_purchased"],
                          buyer_month_remaining=row["month_limit"] - row["month_purchased"],
                          serials=serials, citizen_id=row["citizen_id"])


def sell(statement, params, *, x, now, month, medium, refuse_from_reads) -> dict:
    """Run the one-statement sale (or reservation); return its row, or raise the refusal.

    Outside a transaction the statement runs in autocommit: it is its own transaction, so a
    successful sale is ONE round trip and the tranche row lock is released by the statement's own
    commit. Inside a caller's transaction (the idempotency decorator) it runs in a savepoint, so a
    refused statement leaves the caller's transaction usable."""
    for _attempt in range(3):
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    row = session.run(statement, params)
            else:
                row = session.run(statement, params)
        except DataError as exc:
            if sql.REFUSED_MARK not in str(exc):
                raise
            if f"{sql.REFUSED_MARK}:replay" in str(exc):
                raise AlreadyAnswered() from None
            # The statement undid its own claims; name the refusal from fresh reads, in order.
            if f"{sql.REFUSED_MARK}:usage" in str(exc):
                # open, rotation, amount and the month usage passed: only the tranche UPDATE refused
                # (sold out, or closed meanwhile). One read of the tranche tells which.
                _refuse_at_tranche(params["tid"], x=x, now=now)
            else:
                refuse_from_reads()
            continue  # every rule passes now: the race that refused us is gone, try again
        if row["purchase_id"] is not None:
            return row
        try:
            _refuse_from_statement(row, x=x, now=now, month=month, medium=medium,
                                   by_ci=params.get("ci") is not None)
        except Retry:
            continue
    raise refuse("busy")


def _refuse_from_statement(row, *, x, now, month, medium, by_ci=True):
    """The statement wrote nothing (no purchase, no claim): name why from its snapshot and raise.
    Only the usage step can have refused here: a claim without a purchase aborts the statement
    (REFUSED_MARK), which `sell` handles."""
    if row["citizen_id"] is None:
        if row["tranche_id"] is None:
            raise inputs.unknown_tranche()
        if not by_ci:
            raise refuse("not_found.buyer")
        raise Retry()
    if row["tranche_id"] is None:
        inputs.forget_tranche_media()
        raise inputs.unknown_tranche()
    snap = rules.TrancheSnapshot(medium=row["tranche_medium"], rotation=row["rotation"], opens_at=row["opens_at"],
                                 closes_at=row["closes_at"], closed_at=row["closed_at"], sold=row["sold"],
                                 quota=row["quota"])
    if snap.medium != medium:  # cannot happen while media stay immutable; be safe, not clever
        inputs.forget_tranche_media()
        raise refuse("busy")
    # Our statement did not touch the usage row, so a fresh read shows the latest committed state.
    usage = MonthlyUsage.objects.filter(citizen_id=row["citizen_id"], month=month).first()
    rules.check_sale(tranche=snap, birth_year=row["birth_year"], x=x, now=now, usage=usage_figures(usage, month),
                     year_total=year_total(row["citizen_id"], month), check_quota_too=False)
    raise Retry()


def _refuse_at_tranche(tid, *, x, now):
    tranche = Tranche.objects.filter(pk=tid).first()
    if tranche is None:
        raise inputs.unknown_tranche()
    rules.check_open(tranche=tranche, now=now)
    rules.check_quota(tranche=tranche, x=x)


def _refuse_from_reads(*, tid, ci_hash, citizen, birth_year, x, now, month):
    tranche = Tranche.objects.filter(pk=tid).first()
    if tranche is None:
        raise inputs.unknown_tranche()
    if citizen is None:
        citizen = Citizen.objects.filter(ci_hash=ci_hash).first()
    known_year = citizen.birth_year if citizen is not None and citizen.birth_year else birth_year
    usage = MonthlyUsage.objects.filter(citizen=citizen, month=month).first() if citizen else None
    rules.check_sale(tranche=tranche, birth_year=known_year, x=x, now=now, usage=usage_figures(usage, month),
                     year_total=year_total(getattr(citizen, "pk", None), month))


def claim_citizen(*, ci_hash, name, birth_year, now) -> Citizen:
    """The buyer of this CI hash, created on first purchase; fills a missing name or birth year."""
    citizen, created = Citizen.objects.get_or_create(ci_hash=ci_hash, defaults={
        "name": name, "birth_year": birth_year, "created_at": now})
    changed = []
    if not created and citizen.birth_year is None and birth_year is not None:
        citizen.birth_year = birth_year
        changed.append("birth_year")
    if not created and not citizen.name and name:
        citizen.name = name
        changed.append("name")
    if changed:
        citizen.save(update_fields=changed)
    return citizen


def _claim_usage_orm(*, citizen, month):
    """Portable usage claim: the row (created with the limits in force), locked (lock 1)."""
    limits = limits_for_month(month)
    usage, _ = MonthlyUsage.objects.get_or_create(citizen=citizen, month=month, defaults={
        "monthly_limit": limits.monthly_limit, "paper_limit": limits.paper_monthly_limit,
        "mobile_limit": limits.mobile_monthly_limit, "yearly_limit": limits.yearly_limit})
    return locks.usage_by_pk(usage.pk)


def purchase_orm(*, tid, ci_hash, citizen, name, birth_year, x, channel, api_client, user, ikey, now, month,
                 denoms, serials, reservation_hold=None):
    """The same sale through the ORM (SQLite in `make run`, and a cross-check in the tests)."""
    with transaction.atomic():
        if citizen is None:
            citizen = claim_citizen(ci_hash=ci_hash, name=name, birth_year=birth_year, now=now)
        tranche = Tranche.objects.filter(pk=tid).first()
        if tranche is None:
            raise inputs.unknown_tranche()
        usage_existing = MonthlyUsage.objects.filter(citizen=citizen, month=month).first()
        rules.check_sale(tranche=tranche, birth_year=citizen.birth_year, x=x, now=now,
                         usage=usage_figures(usage_existing, month), year_total=year_total(citizen.pk, month),
                         check_quota_too=False)
        usage = _claim_usage_orm(citizen=citizen, month=month)
        # Re-checked under the lock: a concurrent sale may have moved the row since the read above.
        rules.check_limits(usage=usage_figures(usage, month), medium=tranche.medium, x=x,
                           year_total=year_total(citizen.pk, month))
        moved = {"purchased": F("purchased") + x, "updated_at": now}
        column = "paper_purchased" if tranche.medium == Medium.PAPER else "mobile_purchased"
        moved[column] = F(column) + x
        MonthlyUsage.objects.filter(pk=usage.pk).update(**moved)
        if not Tranche.objects.open_at(now).filter(pk=tid, sold__lte=F("quota") - x).update(sold=F("sold") + x):
            fresh = Tranche.objects.get(pk=tid)
            rules.check_open(tranche=fresh, now=now)
            raise refuse("tranche_sold_out", remaining=_remaining_text(fresh))
        price = discounted_price(x, tranche.discount_rate)
        usage.refresh_from_db()
        if reservation_hold is not None:
            return Reservation.objects.create(citizen=citizen, user=user, tranche=tranche, medium=tranche.medium,
                                              face_value=x, price=price, month=month, created_at=now,
                                              expires_at=now + reservation_hold)
        purchase = Purchase.objects.create(channel=channel, api_client=api_client, user=user, citizen=citizen,
                                           tranche=tranche, medium=tranche.medium, face_value=x, price=price,
                                           month=month, idempotency_key=ikey or "", created_at=now)
        deliver(purchase=purchase, denoms=denoms, serials=serials, now=now)
    return PurchaseResult(id=purchase.pk, tranche=tid, medium=purchase.medium, face_value=x, price=price,
                          status=purchase.status, created_at=now, month=month,
                          buyer_month_purchased=usage.purchased,
                          buyer_month_remaining=usage.monthly_limit - usage.purchased, serials=serials,
                          citizen_id=citizen.pk)


def _remaining_text(tranche) -> str:
    return format_krw(max(tranche.quota - tranche.sold, 0))
