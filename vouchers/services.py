"""Writes of the vouchers app: sell, cancel, reserve and pay, manage tranches, roll months over.

Every function is keyword-only and runs in one transaction; a refusal raises RuleViolation (409) or
InvalidInput (400) with the API.md code and leaves nothing written. Time comes in as `now` so tests
(and late-running jobs) decide which Seoul month and which 5부제 day it is.

The sale (purchase_vouchers, reserve_purchase) runs as ONE PostgreSQL statement (vouchers/sql.py),
prepared once per connection and executed in autocommit: usage claim → tranche UPDATE → purchase →
wallet credit + ledger line or paper notes, then the statement's own commit. Refusals are named
afterwards from the statement's diagnostics or a few reads. Other engines (SQLite in `make run`)
take `_purchase_orm`, the same rules through the ORM. Lock order everywhere: usage row, tranche row,
wallet row.
"""
import calendar
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import F, Q, Sum

from jinju_portal.errors import InvalidInput, NotFound, RuleViolation
from jinju_portal.identity import hash_identity
from jinju_portal.money import MAX_KRW, discounted_price, to_rate
from vouchers import months, notes, sql
from vouchers.choices import (Channel, EntryKind, Medium, NoteStatus, PlanLayout, PurchaseStatus, RefundReason,
                              RefundStatus, ReservationStatus)
from vouchers.models import (DEFAULT_MONTHLY_LIMIT, Citizen, IssuancePlan, LimitPolicy, MonthlyIssuanceReport,
                             MonthlyUsage, PaperNote, PaymentRefund, Purchase, Reservation, Tranche, Wallet,
                             WalletEntry)
from vouchers.selectors import buyer_usage, limits_for_month, month_report_figures  # noqa: F401 (re-export)

VALIDITY_YEARS = 5  # from issue, on the Seoul calendar (FACTS.md)
CANCEL_WINDOW = dt.timedelta(days=7)
RESERVATION_HOLD = dt.timedelta(minutes=10)
# A worker owns a claimed refund this long (far beyond any gateway timeout); if it dies, the claim lapses.
REFUND_CLAIM = dt.timedelta(minutes=2)
# The sweep re-enqueues refunds still pending after this long (their task was lost or gave up).
REFUND_STALE_AFTER = dt.timedelta(minutes=5)
REFUND_MAX_ATTEMPTS = 10  # then `failed`, for staff to look at and retry from the admin
MAX_BUYER_CI = 200
MAX_NAME = 100
# A tranche quota above 10^15 won (a thousand trillion) is a typo; the cap also keeps sold + x far
# from bigint overflow.
MAX_QUOTA = 10**15


def _setting(name, default):
    return getattr(settings, name, default)


def fast_sql() -> bool:
    """The one-statement purchase needs PostgreSQL; `make run`'s SQLite takes the ORM path."""
    return connection.vendor == "postgresql" and _setting("VOUCHERS_FAST_SQL", True)


def _expires(now):
    """The same Seoul date and time VALIDITY_YEARS later; issued on 29 February, the 28th. A fixed
    5 × 365 + 1 days fell a day short whenever the five years held two leap days (issued from
    2027-03-01 to 2028-02-28, both 2028-02-29 and 2032-02-29 lie within)."""
    local = months.seoul(now)
    year = local.year + VALIDITY_YEARS
    return local.replace(year=year, day=min(local.day, calendar.monthrange(year, local.month)[1]))


# --- input checks shared by every entry point (API, web pages, seed, benchmark) -------------------

def clean_face_value(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_KRW:
        raise InvalidInput("invalid_face_value", "액면가는 1원 이상의 정수(원)여야 합니다.",
                           {"face_value": ["액면가는 1원 이상의 정수(원)여야 합니다."]})
    return value


def clean_buyer_ci(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_BUYER_CI or not value.isprintable():
        raise InvalidInput("invalid_buyer", f"buyer_ci는 1–{MAX_BUYER_CI}자의 인쇄 가능한 문자여야 합니다.",
                           {"buyer_ci": [f"1–{MAX_BUYER_CI}자의 인쇄 가능한 문자여야 합니다."]})
    return value


def clean_buyer_name(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_NAME or not value.isprintable():
        raise InvalidInput("invalid_buyer", "구매자 이름이 올바르지 않습니다.", {"buyer_name": ["올바르지 않습니다."]})
    return value.strip()


def clean_birth_year(value, now) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= months.seoul(now).year:
        raise InvalidInput("invalid_buyer", "출생 연도가 올바르지 않습니다.",
                           {"buyer_birth_year": ["1900년부터 올해 사이의 연도여야 합니다."]})
    return value


def _unknown_tranche():
    return InvalidInput("invalid_tranche", "발행 회차를 찾을 수 없습니다.", {"tranche": ["없는 발행 회차입니다."]})


def _clean_tranche_id(value) -> int:
    if isinstance(value, Tranche):
        return value.pk
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_KRW:
        raise _unknown_tranche()
    return value


# A tranche's medium never changes after creation (the admin shows it read-only), so each process
# remembers it: the hot path needs it to pick the statement and the note breakdown without a read.
_MEDIUM_CACHE: dict[int, str] = {}
_MEDIUM_LOCK = threading.Lock()


def tranche_medium(tranche_id: int) -> str:
    """The (immutable) medium of a tranche, from a per-process cache; unknown → 400 invalid_tranche."""
    medium = _MEDIUM_CACHE.get(tranche_id)
    if medium is None:
        medium = Tranche.objects.filter(pk=tranche_id).values_list("medium", flat=True).first()
        if medium is None:
            raise _unknown_tranche()
        with _MEDIUM_LOCK:
            _MEDIUM_CACHE[tranche_id] = medium
    return medium


# --- the rules, in the order the issue fixes: open → rotation → amount → month usage → quota -------

def rotation_day(tranche, now) -> int:
    """1 on the Seoul calendar day the tranche opens, 2 the next day, …"""
    return (months.seoul(now).date() - months.seoul(tranche.opens_at).date()).days + 1


def rotation_admits(*, tranche, birth_year: int | None, now) -> bool | None:
    """True/False; None when a rotation tranche does not know the buyer's birth year."""
    if not tranche.rotation:
        return True
    if birth_year is None:
        return None
    k = rotation_day(tranche, now)
    return k > 5 or birth_year % 10 in {k % 10, (k + 5) % 10}


@dataclass
class _Snapshot:
    """What the rules look at; filled from the statement's diagnostics or from ORM reads."""
    medium: str
    rotation: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    sold: int
    quota: int

    def is_open(self, now):
        return self.closed_at is None and self.opens_at <= now < self.closes_at


def _check_rules(*, tranche, birth_year, x, now, usage_checked=False, usage=None, limits=None,
                 citizen_id=None, month=None, quota_checked=False):
    """Raise the first refusal in the fixed order; return quietly when every rule passes."""
    if not tranche.is_open(now):
        raise RuleViolation("tranche_not_open", "판매 기간이 아닌 발행 회차입니다.")
    admitted = rotation_admits(tranche=tranche, birth_year=birth_year, now=now)
    if admitted is None:
        raise InvalidInput("invalid_buyer", "5부제 판매 회차에는 구매자의 출생 연도(buyer_birth_year)가 필요합니다.",
                           {"buyer_birth_year": ["5부제 판매에는 출생 연도가 필요합니다."]})
    if not admitted:
        k = rotation_day(tranche, now)
        raise RuleViolation("not_rotation_day",
                            f"5부제 판매 {k}일째에는 출생 연도 끝자리가 {k % 10} 또는 {(k + 5) % 10}인 분만 살 수 있습니다.")
    if not notes.payable(tranche.medium, x):
        if tranche.medium == Medium.PAPER:
            units = "·".join(f"{d:,}" for d in notes.denominations())
            detail = f"지류 상품권은 {units}원권으로 나누어 떨어지는 금액만 살 수 있습니다."
        else:
            detail = "모바일 상품권은 1,000원 단위로만 살 수 있습니다."
        raise InvalidInput("invalid_face_value", detail, {"face_value": [detail]})
    if not usage_checked:
        _check_limits(usage=usage, limits=limits, x=x, medium=tranche.medium, citizen_id=citizen_id, month=month)
    if not quota_checked and tranche.sold + x > tranche.quota:
        raise RuleViolation("tranche_sold_out",
                            f"남은 발행 한도({tranche.quota - tranche.sold:,}원)가 구매 금액보다 적습니다.")


def _check_limits(*, usage, limits, x, medium, citizen_id, month):
    if usage is not None:
        limit, purchased = usage.monthly_limit, usage.purchased
        medium_limit = usage.paper_limit if medium == Medium.PAPER else usage.mobile_limit
        medium_purchased = usage.paper_purchased if medium == Medium.PAPER else usage.mobile_purchased
        yearly = usage.yearly_limit
    else:
        limit, purchased = limits.monthly_limit, 0
        medium_limit = limits.paper_monthly_limit if medium == Medium.PAPER else limits.mobile_monthly_limit
        medium_purchased = 0
        yearly = limits.yearly_limit
    if purchased + x > limit:
        raise RuleViolation("monthly_limit_exceeded",
                            f"이번 달 구매 한도 {limit:,}원 중 {max(limit - purchased, 0):,}원만 남았습니다.")
    if medium_limit is not None and medium_purchased + x > medium_limit:
        raise RuleViolation("monthly_limit_exceeded",
                            f"이번 달 {Medium(medium).label} 구매 한도 {medium_limit:,}원을 넘습니다.")
    if yearly is not None and citizen_id is not None:
        year_total = (MonthlyUsage.objects.filter(citizen_id=citizen_id, month__startswith=month[:4] + "-")
                      .aggregate(s=Sum("purchased", default=0))["s"])
        if year_total + x > yearly:
            raise RuleViolation("yearly_limit_exceeded", f"올해 구매 한도 {yearly:,}원을 넘습니다.")


# --- purchase --------------------------------------------------------------------------------------

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
        super().__init__("idempotent_replay", "이미 처리된 요청입니다.")


class _Retry(Exception):
    """The statement lost a harmless race before writing anything (a brand-new buyer inserted by a
    concurrent request after our snapshot): run it again."""


def _channel(value) -> str:
    if value not in Channel.values:
        raise InvalidInput("invalid_channel", f"판매 경로는 {', '.join(Channel.values)} 중 하나여야 합니다.")
    return value


def purchase_vouchers(*, tranche_id=None, tranche=None, buyer_ci: str | None = None, citizen: Citizen | None = None,
                      face_value, channel: str, api_client=None, user=None, buyer_name: str | None = None,
                      buyer_birth_year: int | None = None, idempotency_key: str = "",
                      idempotency: SaleIdempotency | None = None, now=None) -> PurchaseResult:
    """Sell `face_value` of a tranche to one buyer (by identity CI or an existing Citizen).

    Paper: issues whole notes, largest first, serials in the answer. Mobile: credits the buyer's
    wallet with a ledger line. Refusals (first failing, in order): tranche_not_open,
    invalid_buyer / not_rotation_day, invalid_face_value, monthly_limit_exceeded (or
    yearly_limit_exceeded when the city sets a yearly cap), tranche_sold_out.

    `idempotency` (PostgreSQL): store the API answer under that key in the same statement; a key
    already answered raises AlreadyAnswered (the caller replays the stored answer).
    """
    now = months.now_or(now)
    x = clean_face_value(face_value)
    tid = _clean_tranche_id(tranche if tranche is not None else tranche_id)
    channel = _channel(channel)
    if citizen is None:
        ci_hash = hash_identity(clean_buyer_ci(buyer_ci))
    else:
        ci_hash = None
    name = clean_buyer_name(buyer_name)
    birth_year = clean_birth_year(buyer_birth_year, now)
    medium = tranche_medium(tid)
    month = months.month_of(now)

    # Amounts no limit could admit, or not payable in the medium's units, never reach the write path
    # (no notes drawn for 10^15 won): name the refusal from plain reads, in order.
    sane = x <= _setting("VOUCHERS_MAX_FACE_VALUE", 100_000_000)
    if not sane or not notes.payable(medium, x):
        _refuse_from_reads(tid=tid, ci_hash=ci_hash, citizen=citizen, birth_year=birth_year, x=x, now=now,
                           month=month)
        # only reached if a city limit admits more than VOUCHERS_MAX_FACE_VALUE at once
        raise InvalidInput("invalid_face_value", "한 번에 살 수 있는 최대 금액을 넘습니다.",
                           {"face_value": ["한 번에 살 수 있는 최대 금액을 넘습니다."]})

    denoms = notes.note_breakdown(x) if medium == Medium.PAPER else []
    serials = [notes.new_serial() for _ in denoms]
    if not fast_sql():
        return _purchase_orm(tid=tid, ci_hash=ci_hash, citizen=citizen, name=name, birth_year=birth_year, x=x,
                             channel=channel, api_client=api_client, user=user, ikey=idempotency_key, now=now,
                             month=month, denoms=denoms, serials=serials)

    params = {
        "ci": ci_hash, "cid": citizen.pk if citizen is not None else None, "name": name, "birth_year": birth_year,
        "now": now, "today": months.seoul(now).date(), "month": month,
        "month_start": months.first_day(month), "year_prefix": month[:4] + "-%",
        "default_limit": DEFAULT_MONTHLY_LIMIT, "tid": tid, "medium": medium, "x": x,
        "xp": x if medium == Medium.PAPER else 0, "xm": x if medium == Medium.MOBILE else 0,
        "channel": channel, "api_client_id": getattr(api_client, "pk", None), "user_id": getattr(user, "pk", None),
        "ikey": idempotency_key or "", "expires": _expires(now), "serials": serials, "denoms": denoms,
    }
    if idempotency is not None:
        params.update(io=idempotency.owner, ik=idempotency.key, ih=idempotency.request_hash,
                      created_at_text=idempotency.created_at_text, ikey=idempotency.key)
    statement = (citizen is None, "purchase_keyed" if idempotency is not None else "purchase", medium)
    row = _sell(statement, params, x=x, now=now, month=month, medium=medium,
                refuse_from_reads=lambda: _refuse_from_reads(tid=tid, ci_hash=ci_hash, citizen=citizen,
                                                             birth_year=birth_year, x=x, now=now, month=month))
    return PurchaseResult(id=row["purchase_id"], tranche=tid, medium=medium, face_value=x, price=row["price"],
                          status=PurchaseStatus.COMPLETED, created_at=now, month=month,
                          buyer_month_purchased=row["month_purchased"],
                          buyer_month_remaining=row["month_limit"] - row["month_purchased"],
                          serials=serials, citizen_id=row["citizen_id"])


def _sell(statement, params, *, x, now, month, medium, refuse_from_reads) -> dict:
    """Run the one-statement sale (or reservation); return its row, or raise the refusal.

    Outside a transaction the statement runs in autocommit: it is its own transaction, so a
    successful sale is ONE round trip and the tranche row lock is released by the statement's own
    commit. Inside a caller's transaction (the idempotency decorator) it runs in a savepoint, so a
    refused statement leaves the caller's transaction usable."""
    for _attempt in range(3):
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    row = _run(statement, params)
            else:
                row = _run(statement, params)
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
        except _Retry:
            continue
    raise RuleViolation("busy", "요청이 몰려 처리하지 못했습니다. 잠시 뒤 다시 시도해 주세요.")


class _SaleSession:
    """What the sale path knows about one database session (one per Django connection)."""

    __slots__ = ("raw", "prepared", "replanned_at", "answered_at")

    def __init__(self, raw, now):
        self.raw = raw
        self.prepared = set()
        self.replanned_at = now
        self.answered_at = 0.0


def _skip_health_check_if_fresh():
    """Django's CONN_HEALTH_CHECKS costs a `SELECT 1` round trip on the first query of every request.
    Under a rush that check took as much worker time as the sale itself (py-spy, bench/README.md).
    A session that answered a sale less than HEALTHY_FOR seconds ago is as likely to be alive as one
    that just passed the check, so it is skipped then; idle sessions are still checked."""
    session = getattr(connection, "_vouchers_session", None)
    raw = connection.connection
    if (session is not None and raw is not None and session.raw is raw and not raw.closed
            and time.monotonic() - session.answered_at < HEALTHY_FOR):
        connection.health_check_done = True


def _sale_session() -> _SaleSession:
    raw = connection.connection
    session = getattr(connection, "_vouchers_session", None)
    if session is None or session.raw is not raw:  # a new database session: nothing is prepared in it yet
        session = _SaleSession(raw, time.monotonic())
        connection._vouchers_session = session
    return session


HEALTHY_FOR = 1.0  # seconds
# PostgreSQL caches plans per session: our prepared sale, and the foreign-key checks its INSERTs fire
# (e.g. "is this purchase id in vouchers_purchase?"). A plan built while a table was (nearly) empty
# scans it sequentially, and at a launch the purchase, wallet and ledger tables start empty and grow
# by hundreds of rows a second; autovacuum's ANALYZE would invalidate those plans, but not within
# the sale's first minute (and not at all where it is off). Measured: each foreign-key check of a
# ledger line then read the whole purchase and wallet tables, and the rush decayed from ~700 to
# ~350 sales/s in a minute. So every REPLAN_EVERY seconds a session drops its cached plans (DISCARD
# PLANS keeps the prepared statements) and PostgreSQL replans them for the tables as they are now.
REPLAN_EVERY = 5.0  # seconds


def _run(key, params) -> dict:
    """Execute one of sql.STATEMENTS; as a per-connection prepared statement unless switched off."""
    if not _setting("VOUCHERS_PREPARED_STATEMENTS", True):
        with connection.cursor() as cursor:
            cursor.execute(sql.STATEMENTS[key], params)
            return dict(zip(sql.RESULT_COLUMNS, cursor.fetchone()))
    name, prepare, execute = sql.PREPARED[key]
    _skip_health_check_if_fresh()
    with connection.cursor() as cursor:  # connects, or reconnects after a failed health check
        session = _sale_session()
        now = time.monotonic()
        if now - session.replanned_at > REPLAN_EVERY:
            cursor.execute("DISCARD PLANS")
            session.replanned_at = now
        if name not in session.prepared:
            cursor.execute(prepare)  # PREPARE is not transactional: it survives a rollback
            session.prepared.add(name)
        cursor.execute(execute, params)
        row = dict(zip(sql.RESULT_COLUMNS, cursor.fetchone()))
    session.answered_at = time.monotonic()
    return row


def _refuse_from_statement(row, *, x, now, month, medium, by_ci=True):
    """The statement wrote nothing (no purchase, no claim): name why from its snapshot and raise."""
    if row["citizen_id"] is None:
        if row["tranche_id"] is None:
            raise _unknown_tranche()
        if not by_ci:
            raise NotFound("구매자를 찾을 수 없습니다.")
        raise _Retry()
    if row["tranche_id"] is None:
        _MEDIUM_CACHE.clear()
        raise _unknown_tranche()
    snap = _Snapshot(medium=row["tranche_medium"], rotation=row["rotation"], opens_at=row["opens_at"],
                     closes_at=row["closes_at"], closed_at=row["closed_at"], sold=row["sold"], quota=row["quota"])
    if snap.medium != medium:  # cannot happen while media stay immutable; be safe, not clever
        _MEDIUM_CACHE.clear()
        raise RuleViolation("busy", "발행 회차 정보가 바뀌었습니다. 다시 시도해 주세요.")
    usage_passed = row["month_purchased"] is not None
    if not usage_passed:
        # Our statement did not touch the usage row, so a fresh read shows the latest committed state.
        usage = MonthlyUsage.objects.filter(citizen_id=row["citizen_id"], month=month).first()
        _check_rules(tranche=snap, birth_year=row["birth_year"], x=x, now=now, usage=usage,
                     limits=limits_for_month(month), citizen_id=row["citizen_id"], month=month, quota_checked=True)
    else:
        # Unreachable on PostgreSQL: a claim without a purchase aborts the statement (REFUSED_MARK).
        _refuse_at_tranche(row["tranche_id"], x=x, now=now)
    if row["admitted"] == 0:  # defensive: the rotation test above should have named it
        raise RuleViolation("not_rotation_day", "5부제 판매일이 아닙니다.")
    raise _Retry()


def _refuse_at_tranche(tid, *, x, now):
    tranche = Tranche.objects.filter(pk=tid).first()
    if tranche is None:
        raise _unknown_tranche()
    if not tranche.is_open(now):
        raise RuleViolation("tranche_not_open", "판매 기간이 아닌 발행 회차입니다.")
    if tranche.sold + x > tranche.quota:
        raise RuleViolation("tranche_sold_out",
                            f"남은 발행 한도({max(tranche.quota - tranche.sold, 0):,}원)가 구매 금액보다 적습니다.")


def _refuse_from_reads(*, tid, ci_hash, citizen, birth_year, x, now, month):
    tranche = Tranche.objects.filter(pk=tid).first()
    if tranche is None:
        raise _unknown_tranche()
    if citizen is None:
        citizen = Citizen.objects.filter(ci_hash=ci_hash).first()
    known_year = citizen.birth_year if citizen is not None and citizen.birth_year else birth_year
    usage = MonthlyUsage.objects.filter(citizen=citizen, month=month).first() if citizen else None
    _check_rules(tranche=tranche, birth_year=known_year, x=x, now=now, usage=usage, limits=limits_for_month(month),
                 citizen_id=getattr(citizen, "pk", None), month=month)


def _claim_citizen(*, ci_hash, name, birth_year, now) -> Citizen:
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


def _claim_usage_orm(*, citizen, tranche, x, month, lock=True):
    """Portable usage claim (row lock, then check, then move), same rules as the SQL `u` step."""
    limits = limits_for_month(month)
    usage, _ = MonthlyUsage.objects.get_or_create(citizen=citizen, month=month, defaults={
        "monthly_limit": limits.monthly_limit, "paper_limit": limits.paper_monthly_limit,
        "mobile_limit": limits.mobile_monthly_limit, "yearly_limit": limits.yearly_limit})
    return MonthlyUsage.objects.select_for_update().get(pk=usage.pk) if lock else usage


def _purchase_orm(*, tid, ci_hash, citizen, name, birth_year, x, channel, api_client, user, ikey, now, month,
                  denoms, serials, reservation_hold=None):
    """The same sale through the ORM (SQLite in `make run`, and a cross-check in the tests)."""
    with transaction.atomic():
        if citizen is None:
            citizen = _claim_citizen(ci_hash=ci_hash, name=name, birth_year=birth_year, now=now)
        tranche = Tranche.objects.filter(pk=tid).first()
        if tranche is None:
            raise _unknown_tranche()
        usage_existing = MonthlyUsage.objects.filter(citizen=citizen, month=month).first()
        _check_rules(tranche=tranche, birth_year=citizen.birth_year, x=x, now=now, usage=usage_existing,
                     limits=limits_for_month(month), citizen_id=citizen.pk, month=month, quota_checked=True)
        usage = _claim_usage_orm(citizen=citizen, tranche=tranche, x=x, month=month)
        _check_limits(usage=usage, limits=None, x=x, medium=tranche.medium, citizen_id=citizen.pk, month=month)
        moved = {"purchased": F("purchased") + x, "updated_at": now}
        moved["paper_purchased" if tranche.medium == Medium.PAPER else "mobile_purchased"] = (
            F("paper_purchased" if tranche.medium == Medium.PAPER else "mobile_purchased") + x)
        MonthlyUsage.objects.filter(pk=usage.pk).update(**moved)
        if not Tranche.objects.open_at(now).filter(pk=tid, sold__lte=F("quota") - x).update(sold=F("sold") + x):
            fresh = Tranche.objects.get(pk=tid)
            _check_rules(tranche=fresh, birth_year=citizen.birth_year, x=x, now=now, usage_checked=True)
            raise RuleViolation("tranche_sold_out", "남은 발행 한도가 구매 금액보다 적습니다.")
        price = discounted_price(x, tranche.discount_rate)
        usage.refresh_from_db()
        if reservation_hold is not None:
            return Reservation.objects.create(citizen=citizen, user=user, tranche=tranche, medium=tranche.medium,
                                              face_value=x, price=price, month=month, created_at=now,
                                              expires_at=now + reservation_hold)
        purchase = Purchase.objects.create(channel=channel, api_client=api_client, user=user, citizen=citizen,
                                           tranche=tranche, medium=tranche.medium, face_value=x, price=price,
                                           month=month, idempotency_key=ikey or "", created_at=now)
        _deliver(purchase=purchase, denoms=denoms, serials=serials, now=now)
    return PurchaseResult(id=purchase.pk, tranche=tid, medium=purchase.medium, face_value=x, price=price,
                          status=purchase.status, created_at=now, month=month,
                          buyer_month_purchased=usage.purchased,
                          buyer_month_remaining=usage.monthly_limit - usage.purchased, serials=serials,
                          citizen_id=citizen.pk)


def _deliver(*, purchase, denoms, serials, now):
    """Hand the goods over: paper notes, or a wallet credit with its ledger line."""
    if purchase.medium == Medium.PAPER:
        if not denoms:
            denoms = notes.note_breakdown(purchase.face_value)
            serials = [notes.new_serial() for _ in denoms]
        PaperNote.objects.bulk_create([
            PaperNote(serial=s, denomination=d, purchase=purchase, tranche_id=purchase.tranche_id, issued_at=now,
                      expires_at=_expires(now)) for s, d in zip(serials, denoms)])
    else:
        _move_wallet(citizen_id=purchase.citizen_id, amount=purchase.face_value, kind=EntryKind.PURCHASE,
                     purchase=purchase, reference=f"purchase:{purchase.pk}", now=now, expires_at=_expires(now))


def _move_wallet(*, citizen_id, amount, kind, purchase=None, reference="", now, expires_at=None) -> WalletEntry:
    """Change a balance and append its ledger line with the balance after (invariant 3)."""
    wallet, _ = Wallet.objects.get_or_create(citizen_id=citizen_id, defaults={"updated_at": now})
    wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    if wallet.balance + amount < 0:
        raise RuleViolation("insufficient_balance", "지갑 잔액이 부족합니다.")
    wallet.balance += amount
    wallet.updated_at = now
    wallet.save(update_fields=["balance", "updated_at"])
    return WalletEntry.objects.create(wallet=wallet, amount=amount, balance_after=wallet.balance, kind=kind,
                                      purchase=purchase, reference=reference, created_at=now, expires_at=expires_at)


# --- cancel ----------------------------------------------------------------------------------------

def _give_back(*, citizen_id, month, tranche_id, medium, x, now):
    """Return quota and month usage, locking usage before tranche like every other path."""
    moved = {"purchased": F("purchased") - x, "updated_at": now}
    column = "paper_purchased" if medium == Medium.PAPER else "mobile_purchased"
    moved[column] = F(column) - x
    MonthlyUsage.objects.filter(citizen_id=citizen_id, month=month).update(**moved)
    Tranche.objects.filter(pk=tranche_id).update(sold=F("sold") - x)


def cancel_purchase(*, purchase_id, api_client=None, user=None, by_staff=False, now=None) -> Purchase:
    """Cancel within 7 days if nothing of it was used: give back quota and month usage, cancel the
    notes or debit the wallet (with a ledger line). Cancelling a cancelled purchase changes nothing.
    Only the selling client (or the buying web user, or staff) may cancel; others get 404."""
    now = months.now_or(now)
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().filter(pk=purchase_id).first()
        if purchase is None or not by_staff and not (
                (api_client is not None and purchase.api_client_id == api_client.pk)
                or (user is not None and api_client is None and purchase.user_id == user.pk)):
            raise NotFound("구매 내역을 찾을 수 없습니다.")
        if purchase.status == PurchaseStatus.CANCELLED:
            return purchase
        if now - purchase.created_at > CANCEL_WINDOW:
            raise RuleViolation("cancel_window_closed", "구매 후 7일이 지나 취소할 수 없습니다.")
        if purchase.medium == Medium.PAPER and purchase.notes.exclude(status=NoteStatus.ISSUED).exists():
            raise RuleViolation("already_used", "이미 사용(환전)된 상품권이 있어 취소할 수 없습니다.")
        # lock order: usage → tranche → wallet, as in the sale
        MonthlyUsage.objects.select_for_update().filter(citizen_id=purchase.citizen_id, month=purchase.month).first()
        _give_back(citizen_id=purchase.citizen_id, month=purchase.month, tranche_id=purchase.tranche_id,
                   medium=purchase.medium, x=purchase.face_value, now=now)
        if purchase.medium == Medium.PAPER:
            purchase.notes.filter(status=NoteStatus.ISSUED).update(status=NoteStatus.CANCELLED, status_changed_at=now)
        else:
            wallet = Wallet.objects.select_for_update().filter(citizen_id=purchase.citizen_id).first()
            if wallet is None or wallet.balance < purchase.face_value:
                raise RuleViolation("already_used", "충전된 금액의 일부를 이미 사용해 취소할 수 없습니다.")
            _move_wallet(citizen_id=purchase.citizen_id, amount=-purchase.face_value, kind=EntryKind.CANCEL,
                         purchase=purchase, reference=f"cancel:{purchase.pk}", now=now)
        purchase.status = PurchaseStatus.CANCELLED
        purchase.cancelled_at = now
        purchase.save(update_fields=["status", "cancelled_at"])
        paid = Reservation.objects.filter(purchase=purchase).exclude(payment_reference="").first()
        if paid is not None:  # paid online: the money goes back, decided with the cancel
            _order_refund(reservation=paid, purchase=purchase, reference=paid.payment_reference,
                          amount=purchase.price, reason=RefundReason.CANCELLED, now=now)
    return purchase


# --- citizens ---------------------------------------------------------------------------------------

def link_citizen(*, user, ci: str, name: str = "", birth_year: int | None = None, now=None) -> Citizen:
    """After identity verification on the web: the citizen known by this CI (created if new, so
    purchases made at a branch before sign-up are theirs too), linked to `user`. A CI already linked
    to another account is refused (409 `citizen_linked_elsewhere`)."""
    now = months.now_or(now)
    ci_hash = hash_identity(clean_buyer_ci(ci))
    name = clean_buyer_name(name)
    birth_year = clean_birth_year(birth_year, now)
    with transaction.atomic():
        _claim_citizen(ci_hash=ci_hash, name=name, birth_year=birth_year, now=now)
        citizen = Citizen.objects.select_for_update().get(ci_hash=ci_hash)
        if citizen.user_id == user.pk:
            return citizen
        if citizen.user_id is not None or Citizen.objects.filter(user=user).exists():
            raise RuleViolation("citizen_linked_elsewhere", "이미 다른 계정과 연결된 본인확인 정보입니다.")
        citizen.user = user
        citizen.save(update_fields=["user"])
    return citizen


# --- web purchase: reserve → pay → confirm -----------------------------------------------------------

def reserve_purchase(*, tranche_id, citizen: Citizen, face_value, user=None, now=None) -> Reservation:
    """Hold quota and month usage for RESERVATION_HOLD (10 minutes) while the citizen pays.

    Mobile tranches only (the web credits the wallet). Same refusals, same order as a sale."""
    now = months.now_or(now)
    x = clean_face_value(face_value)
    tid = _clean_tranche_id(tranche_id)
    medium = tranche_medium(tid)
    if medium != Medium.MOBILE:
        raise InvalidInput("invalid_tranche", "누리집에서는 모바일 상품권만 살 수 있습니다.",
                           {"tranche": ["모바일 발행 회차를 골라 주세요."]})
    month = months.month_of(now)
    hold = _setting("VOUCHERS_RESERVATION_HOLD", RESERVATION_HOLD)
    if x > _setting("VOUCHERS_MAX_FACE_VALUE", 100_000_000) or not notes.payable(medium, x):
        _refuse_from_reads(tid=tid, ci_hash=None, citizen=citizen, birth_year=None, x=x, now=now, month=month)
        raise InvalidInput("invalid_face_value", "한 번에 살 수 있는 최대 금액을 넘습니다.",
                           {"face_value": ["한 번에 살 수 있는 최대 금액을 넘습니다."]})
    if not fast_sql():
        return _purchase_orm(tid=tid, ci_hash=None, citizen=citizen, name="", birth_year=None, x=x,
                             channel=Channel.WEB, api_client=None, user=user, ikey="", now=now, month=month,
                             denoms=[], serials=[], reservation_hold=hold)
    params = {
        "cid": citizen.pk, "now": now, "today": months.seoul(now).date(), "month": month,
        "month_start": months.first_day(month), "year_prefix": month[:4] + "-%",
        "default_limit": DEFAULT_MONTHLY_LIMIT,
        "tid": tid, "medium": medium, "x": x, "xp": 0, "xm": x, "user_id": getattr(user, "pk", None),
        "hold_until": now + hold,
    }
    statement = (False, "reservation", medium)
    row = _sell(statement, params, x=x, now=now, month=month, medium=medium,
                refuse_from_reads=lambda: _refuse_from_reads(tid=tid, ci_hash=None, citizen=citizen,
                                                             birth_year=None, x=x, now=now, month=month))
    return Reservation.objects.get(pk=row["purchase_id"])


def confirm_reservation(*, reservation_id, payment_reference: str = "", now=None) -> Purchase:
    """The payment succeeded: turn the hold into a purchase and credit the wallet. The counters moved
    at reservation time, so nothing is claimed again. Confirming twice returns the same purchase.
    A reservation already released or failed answers 409 `reservation_expired` (refund the payment)."""
    now = months.now_or(now)
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().filter(pk=reservation_id).first()
        if reservation is None:
            raise NotFound("예약을 찾을 수 없습니다.")
        if reservation.status == ReservationStatus.CONFIRMED:
            return reservation.purchase
        if reservation.status != ReservationStatus.HELD:
            raise RuleViolation("reservation_expired", "결제 기한이 지나 예약이 해제되었습니다. 결제는 환불됩니다.")
        return _confirm(reservation, reference=(payment_reference or "")[:100], now=now)


def _end_hold(reservation, *, status, now):
    _give_back(citizen_id=reservation.citizen_id, month=reservation.month, tranche_id=reservation.tranche_id,
               medium=reservation.medium, x=reservation.face_value, now=now)
    reservation.status = status
    reservation.finished_at = now
    reservation.save(update_fields=["status", "finished_at"])


def fail_reservation(*, reservation_id, now=None) -> Reservation:
    """The payment failed or was abandoned: give back the held quota and usage at once."""
    now = months.now_or(now)
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().filter(pk=reservation_id).first()
        if reservation is None:
            raise NotFound("예약을 찾을 수 없습니다.")
        if reservation.status == ReservationStatus.HELD:
            _end_hold(reservation, status=ReservationStatus.FAILED, now=now)
    return reservation


# --- the gateway's answer, from the browser or the gateway's own notification ------------------------

@dataclass(frozen=True)
class Settlement:
    state: str  # paid | failed | expired
    purchase: Purchase | None = None
    refund: PaymentRefund | None = None


def settle_payment(*, reservation_id, payment_reference: str, paid: bool, amount: int | None = None,
                   now=None) -> Settlement:
    """One answer of the gateway about one payment of a hold, whichever way it arrived (browser
    return or server notification), as often as it arrives: the hold's row lock orders them.

    Paid and the hold is held: confirm (purchase + wallet credit). Paid again with the same reference:
    the same purchase. Paid with another reference while already confirmed (a second tab): that
    payment is refunded. Paid after the hold was released or failed: refunded. Not paid: the hold is
    given back at once (an already-confirmed hold stays confirmed). An `amount` other than the hold's
    price is refused (400 `amount_mismatch`) and nothing is written."""
    now = months.now_or(now)
    reference = (payment_reference or "")[:100]
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().filter(pk=reservation_id).first()
        if reservation is None:
            raise NotFound("예약을 찾을 수 없습니다.")
        if amount is not None and amount != reservation.price:
            raise InvalidInput("amount_mismatch", "결제 금액이 예약 금액과 다릅니다.")
        if not paid:
            if reservation.status == ReservationStatus.HELD:
                _end_hold(reservation, status=ReservationStatus.FAILED, now=now)
            if reservation.status == ReservationStatus.CONFIRMED:
                return Settlement("paid", purchase=reservation.purchase)
            return Settlement("failed" if reservation.status == ReservationStatus.FAILED else "expired")
        if not reference:
            raise InvalidInput("invalid_reference", "결제 참조가 없습니다.")
        if reservation.status == ReservationStatus.HELD:
            return Settlement("paid", purchase=_confirm(reservation, reference=reference, now=now))
        if reservation.status == ReservationStatus.CONFIRMED:
            if reservation.payment_reference == reference:
                return Settlement("paid", purchase=reservation.purchase)
            refund = _order_refund(reservation=reservation, purchase=None, reference=reference,
                                   amount=reservation.price, reason=RefundReason.DUPLICATE_PAYMENT, now=now)
            return Settlement("paid", purchase=reservation.purchase, refund=refund)
        refund = _order_refund(reservation=reservation, purchase=None, reference=reference, amount=reservation.price,
                               reason=RefundReason.LATE_PAYMENT, now=now)
        return Settlement("expired", refund=refund)


def _confirm(reservation, *, reference, now) -> Purchase:
    purchase = Purchase.objects.create(
        channel=Channel.WEB, user=reservation.user, citizen_id=reservation.citizen_id,
        tranche_id=reservation.tranche_id, medium=reservation.medium, face_value=reservation.face_value,
        price=reservation.price, month=reservation.month, idempotency_key=f"reservation:{reservation.pk}",
        created_at=now)
    _deliver(purchase=purchase, denoms=[], serials=[], now=now)
    reservation.status = ReservationStatus.CONFIRMED
    reservation.purchase = purchase
    reservation.payment_reference = reference
    reservation.finished_at = now
    reservation.save(update_fields=["status", "purchase", "payment_reference", "finished_at"])
    return purchase


# --- refunds: decided in the deciding transaction, paid out by a task outside any transaction -------

def _enqueue_refund(refund_id: int) -> None:
    from jinju_portal.tasks import enqueue_on_commit
    from vouchers import tasks  # tasks import services: import at call time

    enqueue_on_commit(tasks.refund_payment, refund_id)


def _order_refund(*, reservation, purchase, reference, amount, reason, now) -> PaymentRefund:
    """Claim the refund of `reference` (INSERT … ON CONFLICT DO NOTHING: one per payment, ever) and
    enqueue its execution once this transaction commits. A reference already refunded is not again."""
    PaymentRefund.objects.bulk_create([PaymentRefund(
        reservation=reservation, purchase=purchase, payment_reference=reference, amount=amount, reason=reason,
        created_at=now)], ignore_conflicts=True)
    refund = PaymentRefund.objects.get(payment_reference=reference)
    if refund.status == RefundStatus.PENDING:
        _enqueue_refund(refund.pk)
    return refund


def execute_refund(*, refund_id, now=None) -> str:
    """Pay one refund out through the gateway. Returns "done", or "skipped" when the row is not
    pending or another worker holds it; raises payments.GatewayError after recording the failure.

    Claim (one conditional UPDATE, its own short transaction) → gateway call outside any transaction
    → record the result. Two workers never both call the gateway for one row: only one claim matches."""
    from vouchers import payments

    now = months.now_or(now)
    claimed = (PaymentRefund.objects.filter(pk=refund_id, status=RefundStatus.PENDING)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
               .update(claimed_until=now + REFUND_CLAIM, attempts=F("attempts") + 1))
    if not claimed:
        return "skipped"
    refund = PaymentRefund.objects.get(pk=refund_id)
    try:
        gateway = payments.get_gateway()
        gateway.refund(reference=refund.payment_reference, amount=refund.amount)
    except Exception as exc:  # a gateway is a network service: any failure is recorded and retried
        status = RefundStatus.FAILED if refund.attempts >= REFUND_MAX_ATTEMPTS else RefundStatus.PENDING
        PaymentRefund.objects.filter(pk=refund_id).update(status=status, claimed_until=None,
                                                          last_error=f"{type(exc).__name__}: {exc}"[:2000])
        if isinstance(exc, payments.GatewayError):
            raise
        raise payments.GatewayError(str(exc)) from exc
    PaymentRefund.objects.filter(pk=refund_id).update(status=RefundStatus.DONE, done_at=now,
                                                      claimed_until=None, last_error="")
    return "done"


def retry_refund(*, refund_id, now=None) -> PaymentRefund:
    """Staff's "다시 시도": a failed (or stuck pending) refund goes back to pending and is enqueued.
    A refund already done is left alone (409 `refund_done`)."""
    now = months.now_or(now)
    with transaction.atomic():
        refund = PaymentRefund.objects.select_for_update().filter(pk=refund_id).first()
        if refund is None:
            raise NotFound("환불 내역을 찾을 수 없습니다.")
        if refund.status == RefundStatus.DONE:
            raise RuleViolation("refund_done", "이미 환불된 결제입니다.")
        refund.status = RefundStatus.PENDING
        refund.save(update_fields=["status"])
        _enqueue_refund(refund.pk)
    return refund


def retry_pending_refunds(*, now=None, limit: int = 500) -> int:
    """The every-10-minutes sweep: re-enqueue refunds pending for longer than REFUND_STALE_AFTER and
    not held by a worker (their task was lost, or used up its retries). Safe twice: execute_refund
    claims each row once at a time."""
    now = months.now_or(now)
    ids = list(PaymentRefund.objects.filter(status=RefundStatus.PENDING, created_at__lte=now - REFUND_STALE_AFTER)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
               .order_by("id").values_list("id", flat=True)[:limit])
    for refund_id in ids:
        _enqueue_refund(refund_id)
    return len(ids)


def _release_batch(lapsed, *, now):
    """Give back many holds at once in the app's lock order: every usage row first (sorted), then
    each tranche once (sorted). Interleaving them deadlocks against concurrent sales, which hold a
    usage row while they wait for the tranche."""
    usage_back, tranche_back = {}, {}
    for r in lapsed:
        key = (r.citizen_id, r.month)
        paper, mobile = usage_back.get(key, (0, 0))
        usage_back[key] = (paper + (r.face_value if r.medium == Medium.PAPER else 0),
                           mobile + (r.face_value if r.medium == Medium.MOBILE else 0))
        tranche_back[r.tranche_id] = tranche_back.get(r.tranche_id, 0) + r.face_value
    for (citizen_id, month), (paper, mobile) in sorted(usage_back.items()):
        MonthlyUsage.objects.filter(citizen_id=citizen_id, month=month).update(
            purchased=F("purchased") - (paper + mobile), paper_purchased=F("paper_purchased") - paper,
            mobile_purchased=F("mobile_purchased") - mobile, updated_at=now)
    for tranche_id, amount in sorted(tranche_back.items()):
        Tranche.objects.filter(pk=tranche_id).update(sold=F("sold") - amount)
    Reservation.objects.filter(pk__in=[r.pk for r in lapsed]).update(status=ReservationStatus.RELEASED,
                                                                     finished_at=now)


def release_lapsed_reservations(*, now=None, batch: int = 200) -> int:
    """Release holds whose payment window has passed (the every-minute job). Safe twice: a released
    hold is no longer `held`. Locks skip rows another worker is handling."""
    now = months.now_or(now)
    released = 0
    while True:
        with transaction.atomic():
            lapsed = list(Reservation.objects.select_for_update(skip_locked=True)
                          .filter(status=ReservationStatus.HELD, expires_at__lte=now).order_by("id")[:batch])
            _release_batch(lapsed, now=now)
        released += len(lapsed)
        if len(lapsed) < batch:
            return released


# --- tranches and plans (staff) ---------------------------------------------------------------------

def create_tranche(*, name: str, medium: str, quota: int, opens_at, closes_at, discount_rate="0.10",
                   rotation: bool = False, plan: IssuancePlan | None = None, month: str | None = None,
                   carried_in: int = 0) -> Tranche:
    if medium not in Medium.values:
        raise InvalidInput("invalid_medium", "종류는 paper 또는 mobile 이어야 합니다.", {"medium": ["paper|mobile"]})
    if isinstance(quota, bool) or not isinstance(quota, int) or not 0 < quota <= MAX_QUOTA:
        raise InvalidInput("invalid_quota", "발행 한도는 1원 이상 10^15원 이하의 정수여야 합니다.",
                           {"quota": ["1원 이상 10^15원 이하"]})
    rate = to_rate(discount_rate) if not isinstance(discount_rate, Decimal) else discount_rate
    if not Decimal(0) <= rate < Decimal(1):
        raise InvalidInput("invalid_discount_rate", "할인율은 0 이상 1 미만이어야 합니다.",
                           {"discount_rate": ["0 이상 1 미만"]})
    if closes_at <= opens_at:
        raise InvalidInput("invalid_period", "판매 종료는 시작보다 뒤여야 합니다.", {"closes_at": ["시작보다 뒤"]})
    month = month or months.month_of(opens_at)
    if plan is None:
        plan = IssuancePlan.objects.filter(year=int(month[:4]), medium=medium).first()
    return Tranche.objects.create(name=name, medium=medium, quota=quota, discount_rate=rate, opens_at=opens_at,
                                  closes_at=closes_at, rotation=rotation, plan=plan, month=month,
                                  carried_in=carried_in)


def raise_tranche_quota(*, tranche_id, quota: int) -> Tranche:
    """Set a new quota; it may never fall below what is already sold (or held)."""
    if isinstance(quota, bool) or not isinstance(quota, int) or not 0 < quota <= MAX_QUOTA:
        raise InvalidInput("invalid_quota", "발행 한도는 1원 이상 10^15원 이하의 정수여야 합니다.",
                           {"quota": ["1원 이상 10^15원 이하"]})
    with transaction.atomic():
        tranche = Tranche.objects.select_for_update().filter(pk=tranche_id).first()
        if tranche is None:
            raise NotFound("발행 회차를 찾을 수 없습니다.")
        if quota < tranche.sold:
            raise RuleViolation("quota_below_sold",
                                f"이미 {tranche.sold:,}원이 팔렸습니다. 발행 한도를 그보다 작게 정할 수 없습니다.")
        tranche.quota = quota
        tranche.save(update_fields=["quota"])  # never writes `sold`: concurrent sales keep their count
    return tranche


def close_tranche(*, tranche_id, now=None) -> Tranche:
    """Stop sales now (early close). Closing a closed tranche changes nothing."""
    now = months.now_or(now)
    with transaction.atomic():
        tranche = Tranche.objects.select_for_update().filter(pk=tranche_id).first()
        if tranche is None:
            raise NotFound("발행 회차를 찾을 수 없습니다.")
        if tranche.closed_at is None:
            tranche.closed_at = min(now, tranche.closes_at)
            tranche.save(update_fields=["closed_at"])
    return tranche


def set_plan_schedule(*, plan_id, schedule: dict) -> IssuancePlan:
    """Staff lay out a plan month by month; the total may not exceed the plan."""
    with transaction.atomic():
        plan = IssuancePlan.objects.select_for_update().get(pk=plan_id)
        cleaned = {}
        for month, amount in schedule.items():
            if not months.is_month(month) or int(month[:4]) != plan.year:
                raise InvalidInput("invalid_schedule", f"{plan.year}년의 YYYY-MM 월이어야 합니다: {month}")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise InvalidInput("invalid_schedule", f"금액은 0 이상의 정수여야 합니다: {month}")
            cleaned[month] = amount
        if sum(cleaned.values()) > plan.planned:
            raise InvalidInput("invalid_schedule", "월별 일정의 합이 발행 계획액을 넘습니다.")
        plan.schedule = dict(sorted(cleaned.items()))
        plan.layout = PlanLayout.SCHEDULE
        plan.save(update_fields=["schedule", "layout"])
    return plan


def validate_policy(*, effective_from: dt.date, refund_ratio, now=None, allow_past=False):
    """A limit policy starts on the 1st of a month that has not begun, so it never rewrites a past
    (or the running) month; the refund ratio is 60–80 %."""
    now = months.now_or(now)
    errors = {}
    if effective_from.day != 1:
        errors["effective_from"] = ["매월 1일부터만 적용할 수 있습니다."]
    elif not allow_past and effective_from <= months.seoul(now).date():
        errors["effective_from"] = ["이미 시작된 달에는 적용할 수 없습니다. 다음 달 1일 이후로 정해 주세요."]
    if refund_ratio is None or not Decimal("0.60") <= Decimal(refund_ratio) <= Decimal("0.80"):
        errors["refund_ratio"] = ["0.60에서 0.80 사이여야 합니다."]
    if errors:
        raise InvalidInput("invalid_policy", "한도 정책이 올바르지 않습니다.", errors)


def create_limit_policy(*, effective_from: dt.date, monthly_limit: int, refund_ratio=Decimal("0.60"),
                        paper_monthly_limit=None, mobile_monthly_limit=None, yearly_limit=None, note="",
                        now=None, allow_past=False) -> LimitPolicy:
    validate_policy(effective_from=effective_from, refund_ratio=refund_ratio, now=now, allow_past=allow_past)
    return LimitPolicy.objects.create(effective_from=effective_from, monthly_limit=monthly_limit,
                                      refund_ratio=refund_ratio, paper_monthly_limit=paper_monthly_limit,
                                      mobile_monthly_limit=mobile_monthly_limit, yearly_limit=yearly_limit,
                                      note=note)


# --- scheduled jobs ----------------------------------------------------------------------------------

def _month_allotment(plan: IssuancePlan, month: str, carried: int) -> int:
    """The month's base quota: the staff schedule, or an equal split of what remains of the plan
    after earlier months (carry excluded: it is added on top); December takes the rounding."""
    if plan.layout == PlanLayout.SCHEDULE:
        return int(plan.schedule.get(month, 0))
    index = int(month[5:7])
    earlier = plan.tranches.filter(month__lt=month).aggregate(q=Sum("quota", default=0))["q"]
    remaining = max(plan.planned - earlier - carried, 0)
    months_left = 12 - index + 1
    return remaining if months_left == 1 else remaining // months_left


def month_rollover(*, now=None) -> dict:
    """On the 1st (00:05 KST): report last month per medium, close last month's tranches (moving
    unsold quota into this month where the plan says so), open this month's tranches.

    Idempotent and safe late: each step checks what is already done (report exists, tranche closed,
    this month's tranche exists), under a lock on the plan rows."""
    now = months.now_or(now)
    month = months.month_of(now)
    previous = months.add_months(month, -1)
    summary = {"month": month, "reports": 0, "closed": 0, "opened": 0, "carried": 0}
    with transaction.atomic():
        plans = list(IssuancePlan.objects.select_for_update().filter(year__in={int(month[:4]), int(previous[:4])})
                     .order_by("pk"))
        # 1. the report reflects last month as sold, before any quota moves
        for medium in Medium.values:
            if MonthlyIssuanceReport.objects.filter(month=previous, medium=medium).exists():
                continue
            figures = month_report_figures(month=previous, medium=medium)
            plan = next((p for p in plans if p.year == int(previous[:4]) and p.medium == medium), None)
            planned = dict(_layout_for_report(plan)).get(previous, 0) if plan else 0
            MonthlyIssuanceReport.objects.create(month=previous, medium=medium, planned=planned, quota=figures["quota"],
                                                 sold=figures["sold"], buyers=figures["buyers"],
                                                 purchases=figures["purchases"], created_at=now)
            summary["reports"] += 1
        # 2. close last month's tranches, carrying unsold quota where the plan says so
        carry_by_medium = {m: 0 for m in Medium.values}
        for tranche in Tranche.objects.select_for_update().filter(month=previous).order_by("pk"):
            if tranche.closed_at is None:
                tranche.closed_at = min(now, tranche.closes_at)
                summary["closed"] += 1
                if tranche.plan_id and tranche.plan.carry_unsold and tranche.plan.year == int(month[:4]):
                    unsold = tranche.quota - tranche.sold
                    tranche.carried_out = unsold
                    tranche.quota = tranche.sold
                    carry_by_medium[tranche.medium] += unsold
                tranche.save(update_fields=["closed_at", "quota", "carried_out"])
        # 3. open this month's tranche of every plan of the year that has none yet
        for plan in plans:
            if plan.year != int(month[:4]) or plan.tranches.filter(month=month).exists():
                continue
            carried = carry_by_medium.get(plan.medium, 0)
            quota = _month_allotment(plan, month, carried) + carried
            if quota <= 0:
                continue
            start = months.month_start(month)
            create_tranche(name=f"{month} {Medium(plan.medium).label}", medium=plan.medium, quota=quota,
                           opens_at=start + dt.timedelta(hours=9),
                           closes_at=months.month_start(months.add_months(month, 1)),
                           discount_rate=plan.discount_rate, rotation=plan.rotation, plan=plan, month=month,
                           carried_in=carried)
            summary["opened"] += 1
            summary["carried"] += carried
    return summary


def _layout_for_report(plan):
    from vouchers.selectors import plan_monthly_layout

    return plan_monthly_layout(plan=plan)


def expire_notes_and_credits(*, now=None) -> dict:
    """Daily: paper notes and wallet credits past their 5-year validity expire. A credit's unspent
    part is found first-in-first-out (spending uses the oldest credit first); the expiry debit is a
    ledger line, so a second run finds nothing left to expire."""
    now = months.now_or(now)
    with transaction.atomic():
        notes_expired = (PaperNote.objects.filter(status=NoteStatus.ISSUED, expires_at__lte=now)
                         .update(status=NoteStatus.EXPIRED, status_changed_at=now))
    debited = 0
    wallet_ids = (WalletEntry.objects.filter(kind=EntryKind.PURCHASE, expires_at__lte=now)
                  .values_list("wallet_id", flat=True).distinct().order_by("wallet_id"))
    for wallet_id in wallet_ids:
        with transaction.atomic():
            wallet = Wallet.objects.select_for_update().get(pk=wallet_id)
            entries = wallet.entries.exclude(purchase__status=PurchaseStatus.CANCELLED, kind__in=[
                EntryKind.PURCHASE, EntryKind.CANCEL])
            expired_credit = entries.filter(kind=EntryKind.PURCHASE, expires_at__lte=now).aggregate(
                s=Sum("amount", default=0))["s"]
            spent = -entries.filter(amount__lt=0).exclude(kind=EntryKind.CANCEL).aggregate(
                s=Sum("amount", default=0))["s"]
            refunded = entries.filter(kind=EntryKind.REFUND).aggregate(s=Sum("amount", default=0))["s"]
            due = min(wallet.balance, max(expired_credit - (spent - refunded), 0))
            if due > 0:
                _move_wallet(citizen_id=wallet.citizen_id, amount=-due, kind=EntryKind.EXPIRY,
                             reference=f"expiry:{months.seoul(now).date().isoformat()}", now=now)
                debited += due
    return {"notes_expired": notes_expired, "credit_expired": debited}
