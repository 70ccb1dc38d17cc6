"""The vouchers rules as pure functions and constants: no database, no clock, no settings writes.

Services, selectors, pages and serializers all read these, so each rule has one copy: the 5부제
rotation, the monthly/yearly limits, the cancel refusal, the sale's refusal order, and the limits
on inputs. Services gather the figures (under their locks) and ask; selectors gather the same
figures without locks and ask the same question.
"""
import calendar
import functools
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from jinju_portal.money import discounted_price, format_krw
from vouchers import months, notes
from vouchers.choices import (MERCHANT_TRANSITIONS, ExchangeRefusalReason, Medium, MerchantStatus, NoteStatus,
                              PaymentStatus, PurchaseStatus, ReservationStatus)
from vouchers.errors import refuse

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
ROTATION_DAYS = 5  # the 5부제 applies on sale days 1–5


def expires(now: dt.datetime) -> dt.datetime:
    """When a note or wallet credit issued at `now` expires: the same Seoul date and time
    VALIDITY_YEARS later; issued on 29 February, the 28th. A fixed 5 × 365 + 1 days fell a day short
    whenever the five years held two leap days (issued from 2027-03-01 to 2028-02-28, both
    2028-02-29 and 2032-02-29 lie within)."""
    local = months.seoul(now)
    year = local.year + VALIDITY_YEARS
    return local.replace(year=year, day=min(local.day, calendar.monthrange(year, local.month)[1]))


# --- 5부제 --------------------------------------------------------------------------------------------

def rotation_day(opens_at: dt.datetime, now: dt.datetime) -> int:
    """1 on the Seoul calendar day the tranche opens, 2 the next day, …"""
    return (months.seoul(now).date() - months.seoul(opens_at).date()).days + 1


def rotation_digits(day: int) -> tuple[int, int] | None:
    """The birth-year last digits that may buy on sale day `day`, or None once everyone may."""
    if day > ROTATION_DAYS:
        return None
    return day % 10, (day + 5) % 10


def rotation_admits(*, tranche, birth_year: int | None, now) -> bool | None:
    """True/False; None when a rotation tranche does not know the buyer's birth year."""
    if not tranche.rotation:
        return True
    if birth_year is None:
        return None
    digits = rotation_digits(rotation_day(tranche.opens_at, now))
    return digits is None or birth_year % 10 in digits


# --- the sale, in the order the API fixes: open → rotation → amount → month usage → quota -----------

@dataclass
class TrancheSnapshot:
    """What the rules look at of a tranche; filled from the sale statement's diagnostics or a read."""
    medium: str
    rotation: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    sold: int
    quota: int

    def is_open(self, now):
        return self.closed_at is None and self.opens_at <= now < self.closes_at


@dataclass(frozen=True)
class UsageFigures:
    """A buyer's month as the limits see it: the limits copied into the usage row (or in force, for
    a buyer without one yet) and what is bought; `year_total` is asked only when a yearly cap is set."""
    monthly_limit: int
    purchased: int = 0
    paper_limit: int | None = None
    mobile_limit: int | None = None
    paper_purchased: int = 0
    mobile_purchased: int = 0
    yearly_limit: int | None = None


def check_payable(medium: str, x: int) -> None:
    if notes.payable(medium, x):
        return
    if medium == Medium.PAPER:
        key, figures = "invalid_face_value.paper_units", {"units": "·".join(f"{d:,}" for d in notes.denominations())}
    else:
        key, figures = "invalid_face_value.mobile_units", {}
    raise refuse(key, on="face_value", **figures)


def check_rotation(*, tranche, birth_year, now) -> None:
    admitted = rotation_admits(tranche=tranche, birth_year=birth_year, now=now)
    if admitted is None:
        raise refuse("invalid_buyer.birth_year_needed", on="buyer_birth_year")
    if not admitted:
        day = rotation_day(tranche.opens_at, now)
        a, b = rotation_digits(day)
        raise refuse("not_rotation_day", day=day, a=a, b=b)


def check_limits(*, usage: UsageFigures, medium: str, x: int, year_total=None) -> None:
    """monthly_limit_exceeded / yearly_limit_exceeded, or nothing. `year_total()` gives what the buyer
    bought this year in the other months (called only when a yearly cap applies)."""
    if usage.purchased + x > usage.monthly_limit:
        raise refuse("monthly_limit_exceeded", remaining=format_krw(max(usage.monthly_limit - usage.purchased, 0)))
    medium_limit = usage.paper_limit if medium == Medium.PAPER else usage.mobile_limit
    medium_purchased = usage.paper_purchased if medium == Medium.PAPER else usage.mobile_purchased
    if medium_limit is not None and medium_purchased + x > medium_limit:
        raise refuse("monthly_limit_exceeded.medium", medium=Medium(medium).label, limit=format_krw(medium_limit))
    yearly = usage.yearly_limit
    if yearly is not None and year_total is not None and year_total() + usage.purchased + x > yearly:
        raise refuse("yearly_limit_exceeded", limit=format_krw(yearly))


def check_quota(*, tranche, x: int) -> None:
    if tranche.sold + x > tranche.quota:
        raise refuse("tranche_sold_out", remaining=format_krw(max(tranche.quota - tranche.sold, 0)))


def check_open(*, tranche, now) -> None:
    if not tranche.is_open(now):
        raise refuse("tranche_not_open")


def check_sale(*, tranche, birth_year, x, now, usage: UsageFigures | None, year_total=None,
               check_quota_too: bool = True) -> None:
    """Raise the first refusal of a sale in the fixed order; return quietly when every rule passes.
    `usage` None: the usage rule already passed (the statement claimed it)."""
    check_open(tranche=tranche, now=now)
    check_rotation(tranche=tranche, birth_year=birth_year, now=now)
    check_payable(tranche.medium, x)
    if usage is not None:
        check_limits(usage=usage, medium=tranche.medium, x=x, year_total=year_total)
    if check_quota_too:
        check_quota(tranche=tranche, x=x)


# --- cancel ------------------------------------------------------------------------------------------

def cancel_refusal(*, purchase, now, notes_used: bool, wallet_balance: int | None,
                   credit_spent: bool = False) -> str | None:
    """Why a purchase may not be cancelled now ("already_cancelled", "cancel_window_closed",
    "already_used"), or None. The caller reads `notes_used` (paper: any note no longer issued),
    `wallet_balance` (mobile: None without a wallet) and `credit_spent` (mobile: any of this
    purchase's credit spent, oldest credits first: `credit_spent()`); the service reads them under
    its locks."""
    if purchase.status == PurchaseStatus.CANCELLED:
        return "already_cancelled"
    if now - purchase.created_at > CANCEL_WINDOW:
        return "cancel_window_closed"
    if purchase.medium == Medium.PAPER:
        return "already_used.paper" if notes_used else None
    if credit_spent:
        return "already_used"
    if wallet_balance is None or wallet_balance < purchase.face_value:
        return "already_used"
    return None


def credit_spent(*, credited_before: int, consumed: int) -> bool:
    """Whether any of a mobile credit was spent. Credits are spent oldest first (FIFO) and all have
    the same validity, so the oldest are also the first to expire; a wallet's consumption (payments,
    less refunds, plus expiry debits) covers its live credits in order. A credit was touched once
    the consumption reaches past the credits before it."""
    return consumed > credited_before


# --- limit policy -----------------------------------------------------------------------------------

def policy_is_history(effective_from: dt.date, now: dt.datetime) -> bool:
    """A policy whose month has begun is history: it is never edited, a new one is added instead."""
    return effective_from <= months.seoul(now).date()


# --- web reservations ----------------------------------------------------------------------------

def reservation_state(reservation, now) -> str:
    """pending | paid | failed | expired. A hold past its window counts as expired even before the
    every-minute job has released it: the citizen can no longer pay it."""
    if reservation.status == ReservationStatus.CONFIRMED:
        return "paid"
    if reservation.status == ReservationStatus.FAILED:
        return "failed"
    if reservation.status == ReservationStatus.RELEASED or reservation.expires_at <= now:
        return "expired"
    return "pending"


# --- merchants (가맹점) --------------------------------------------------------------------------------

MERCHANT_REVENUE_LIMIT = 3_000_000_000  # KRW a year, at most (FACTS.md, the ministry's guideline from 2023)
MERCHANT_BAN_YEARS = 1  # a merchant cancelled for illegal exchange may not come back for a year


def merchant_ban_ends(cancelled_at: dt.datetime) -> dt.datetime:
    """When the re-registration ban of a cancellation for illegal exchange at `cancelled_at` ends:
    the same Seoul date and time a year later (cancelled on 29 February, the 28th)."""
    local = months.seoul(cancelled_at)
    year = local.year + MERCHANT_BAN_YEARS
    return local.replace(year=year, day=min(local.day, calendar.monthrange(year, local.month)[1]))


def merchant_banned(*, illegal_exchange_cancelled_at: dt.datetime | None, now: dt.datetime) -> bool:
    return illegal_exchange_cancelled_at is not None and now < merchant_ban_ends(illegal_exchange_cancelled_at)


def merchant_refusal(*, annual_revenue: int, category_excluded: bool,
                     illegal_exchange_cancelled_at: dt.datetime | None, now: dt.datetime) -> str | None:
    """Why a merchant may not be approved now, or None, in this order: the illegal-exchange ban
    ("merchant_banned"), an excluded category ("merchant_category_excluded"), revenue over
    3,000,000,000 KRW ("merchant_revenue_over_limit")."""
    if merchant_banned(illegal_exchange_cancelled_at=illegal_exchange_cancelled_at, now=now):
        return "merchant_banned"
    if category_excluded:
        return "merchant_category_excluded"
    if annual_revenue > MERCHANT_REVENUE_LIMIT:
        return "merchant_revenue_over_limit"
    return None


def merchant_may_move(current: str, target: str) -> bool:
    return target in MERCHANT_TRANSITIONS.get(current, set())


# --- paying merchants (CPM pay codes, MPM merchant QR) and their refunds --------------------------

PAY_CODE_VALIDITY = dt.timedelta(minutes=3)
SHORT_CODE_DIGITS = 6
MAX_PAY_CODE = 64  # a token is 32 characters; anything much longer is not one of ours
REFUND_WINDOW = dt.timedelta(days=30)


def payment_refusal(*, merchant_status: str | None, accepts_mobile: bool) -> str | None:
    """Why this merchant may not take a mobile-voucher payment now, or None."""
    if merchant_status != MerchantStatus.APPROVED:
        return "merchant_not_active"
    if not accepts_mobile:
        return "merchant_not_mobile"
    return None


def refund_refusal(*, paid_at: dt.datetime, amount: int, refunded: int, x: int, now: dt.datetime) -> str | None:
    """Why `x` won of a payment may not go back now: past the 30 days, or more than is left of it."""
    if now - paid_at > REFUND_WINDOW:
        return "refund_window_closed"
    if refunded + x > amount:
        return "refund_exceeds_payment"
    return None


def payment_status(*, amount: int, refunded: int) -> str:
    if refunded == 0:
        return PaymentStatus.PAID
    return PaymentStatus.REFUNDED if refunded == amount else PaymentStatus.PARTIALLY_REFUNDED


# --- paper exchange (issue #9) ----------------------------------------------------------------------

EXCHANGE_CAP_MONTHS = 12  # by default a merchant may exchange a month's share of its declared revenue


def monthly_exchange_cap(*, monthly_exchange_cap: int | None, annual_revenue: int) -> int:
    """What a merchant may exchange in one calendar month (Asia/Seoul): the cap staff set on it, or
    else its declared annual revenue ÷ 12, rounded down to the won. A merchant cannot honestly take
    more paper in a month than it sells."""
    if monthly_exchange_cap is not None:
        return monthly_exchange_cap
    return annual_revenue // EXCHANGE_CAP_MONTHS


MAX_EXCHANGE_SERIALS = 1_000  # notes per request: a shop's bundle at the counter; more is split into requests
MAX_SERIAL_INPUT = 40  # ExchangeRefusal.serial keeps what was handed in up to this; a serial is 18


@dataclass(frozen=True)
class NoteFigures:
    """What the exchange rule looks at of one note (read under its lock)."""
    status: str
    expires_at: dt.datetime
    purchase_cancelled: bool


def note_exchange_refusal(note: NoteFigures | None, *, now: dt.datetime) -> str | None:
    """Why this note cannot be paid whatever the merchant, or None: unknown, not_issued (its
    purchase was cancelled), already_redeemed (or balance-refunded), expired (past its validity, whether or not the daily
    job has marked it yet). Decided before the merchant's own refusals, so an already-redeemed or
    unknown serial is always named as such for the fraud review (DESIGN.md invariant 4)."""
    R = ExchangeRefusalReason
    if note is None:
        return R.UNKNOWN
    if note.status == NoteStatus.CANCELLED or note.purchase_cancelled:
        return R.NOT_ISSUED
    if note.status in (NoteStatus.REDEEMED, NoteStatus.REFUNDED):
        # a note whose rest the citizen took back (잔액 환불) was paid out once already: handing it in
        # again is the same fraud signal as a second exchange
        return R.ALREADY_REDEEMED
    if note.status == NoteStatus.EXPIRED or note.expires_at <= now:
        return R.EXPIRED
    return None


def merchant_exchange_refusal(*, merchant_status: str, accepts_paper: bool) -> str | None:
    """Why this merchant's paper is not exchanged at all: it does not take paper, or it may not take
    vouchers now (pending, suspended, cancelled). Both are `not_accepted_by_merchant`, serial by
    serial, recorded for the review: a suspended or cancelled shop handing in notes is exactly what
    the review must see, and a whole-request 409 (`merchant_not_active`, as payments answer) would
    write nothing."""
    if merchant_status != MerchantStatus.APPROVED or not accepts_paper:
        return ExchangeRefusalReason.NOT_ACCEPTED_BY_MERCHANT
    return None


def fits_exchange_cap(*, cap: int, exchanged: int, x: int) -> bool:
    """Whether `x` more won keeps the merchant's month within its cap."""
    return exchanged + x <= cap
# --- balance refunds to citizens (잔액 환불, issue #9) ----------------------------------------------

DEFAULT_REFUND_RATIO = Decimal("0.60")  # LimitPolicy.refund_ratio's default (FACTS.md: 60–80 % by ordinance)


def refund_threshold_met(*, used: int, face_value: int, refund_ratio) -> bool:
    """Whether `used` won of a purchase's `face_value` reach the refund ratio: used / face ≥ ratio,
    compared exactly (Decimal, no division): 59,990 of 100,000 at 0.60 is short, 60,000 is enough."""
    return Decimal(int(used)) >= Decimal(str(refund_ratio)) * Decimal(int(face_value))


def balance_paid_back(*, unspent: int, discount_rate, price: int) -> int:
    """What the citizen paid for `unspent` won of face value: floor(unspent × (1 − rate)) in won,
    never more than the purchase's price (unspent ≤ face gives floor(unspent × (1 − r)) ≤
    floor(face × (1 − r)) = price already; the min says so in code)."""
    return min(discounted_price(int(unspent), discount_rate), int(price))


@dataclass(frozen=True)
class BalanceRefundFigures:
    """One purchase as the balance refund sees it. `refusal` is None when its rest may go back now,
    else "nothing_to_refund" (nothing left, expired, already refunded, or a rest worth 0 won) or
    "refund_threshold_not_met"."""
    face_value: int
    used: int
    unspent: int
    face_value_returned: int
    amount_paid_back: int
    refusal: str | None

    @property
    def used_percent(self) -> Decimal:
        """The used share in percent, floored to 0.01 % (59.99 % is shown as 59.99, never 60)."""
        if not self.face_value:
            return Decimal(0)
        return (Decimal(self.used) * 100 / Decimal(self.face_value)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def balance_refund(*, face_value: int, used: int, unspent: int, discount_rate, price: int, refund_ratio,
                   expired: bool = False, already_refunded: bool = False) -> BalanceRefundFigures:
    """The balance-refund rule of one purchase (API.md "balance refund"): once the spent share of its
    face value reaches `refund_ratio` (that of the limit policy in force in the purchase's month:
    the terms it was sold under, which never change afterwards), the unspent rest goes back and the
    citizen gets floor(rest × (1 − discount)) won. Credit past its validity is not refundable (the
    daily job expires it), a purchase is refunded once, and a rest worth 0 won (1 won at 10 %) stays
    in the wallet to be spent rather than being taken for nothing."""
    face_value, used, unspent = int(face_value), int(used), int(unspent)
    paid_back = balance_paid_back(unspent=unspent, discount_rate=discount_rate, price=price) if unspent > 0 else 0

    def figures(refusal):
        ok = refusal is None
        return BalanceRefundFigures(face_value=face_value, used=used, unspent=unspent,
                                    face_value_returned=unspent if ok else 0,
                                    amount_paid_back=paid_back if ok else 0, refusal=refusal)

    if unspent <= 0 or expired or already_refunded:
        return figures("nothing_to_refund")
    if not refund_threshold_met(used=used, face_value=face_value, refund_ratio=refund_ratio):
        return figures("refund_threshold_not_met")
    if paid_back <= 0:
        return figures("nothing_to_refund")
    return figures(None)


def balance_refusal(figures) -> str | None:
    """The refusal of a whole request from its purchases' figures: None when at least one purchase
    may be refunded; "refund_threshold_not_met" when something is left but no purchase used enough;
    "nothing_to_refund" when nothing refundable is left at all."""
    figures = list(figures)
    if any(f.refusal is None for f in figures):
        return None
    if any(f.refusal == "refund_threshold_not_met" for f in figures):
        return "refund_threshold_not_met"
    return "nothing_to_refund"
# --- daily settlement (정산) ----------------------------------------------------------------------------

SETTLEMENT_STATUS_FORWARD = {"calculated": "sent", "sent": "paid"}  # forward only, one step at a time


@functools.cache
def _korean_holidays(year: int) -> frozenset:
    import holidays

    return frozenset(holidays.country_holidays("KR", years=year))


def is_business_day(day: dt.date) -> bool:
    """A bank business day in Korea: not a Saturday, a Sunday or a public holiday (the `holidays`
    package's calendar, with its substitute holidays and the lunar ones: 설날, 추석)."""
    return day.weekday() < 5 and day not in _korean_holidays(day.year)


def next_business_day(day: dt.date) -> dt.date:
    """The first business day after `day`: a settlement's pay-on date."""
    out = day + dt.timedelta(days=1)
    while not is_business_day(out):
        out += dt.timedelta(days=1)
    return out


def settlement_split(*, payments: int, refunds: int, exchanged: int, carried: int) -> tuple[int, int]:
    """(amount_due, carry_out) of a settlement: what is transferred, and the negative rest taken to
    the next settlement. A day whose refunds exceed its payments is never a negative transfer."""
    total = payments - refunds + exchanged + carried
    return (total, 0) if total >= 0 else (0, total)


def mask_account(number: str) -> str:
    """An account number as pages, the admin and the API show it: the last 4 digits only."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return "***-****-" + digits[-4:] if digits else ""


def transfer_memo(day: dt.date) -> str:
    """What the merchant's bankbook shows for a settlement (at most 20 characters in Korean banks)."""
    return f"진주사랑 {day:%m/%d} 정산"


# --- cash-out (상품권 깡) signals and what staff do about them (issue #9) ----------------------------
# The scan's SQL (vouchers/db/fraud.py) applies the same thresholds over a month of rows; these are
# the pure parts: how names are compared, how far over a threshold a figure is, how severe that is,
# and the bounds of a fine.

FINE_FIRST_OFFENCE = 6_000_000  # KRW, FACTS.md
FINE_MAX = 20_000_000


@dataclass(frozen=True)
class FraudThresholds:
    """The scan's thresholds (the fraud settings, documented in jinju_portal/settings.py)."""
    min_amount: int = 1_000_000  # a merchant's month below this never raises the three amount rules
    spike_ratio: float = 3.0  # the month against the trailing 3-month average
    category_ratio: float = 5.0  # the month against its category's median (merchants that exchanged)
    category_min_merchants: int = 5  # a median of fewer merchants says nothing
    revenue_share: float = 1.0  # exchanged + refused over the cap, against rules.monthly_exchange_cap
    quick_hours: int = 24  # sold → exchanged within this many hours is "quick"
    self_min_amount: int = 50_000  # quick notes of the representative's own name at their shop
    concentrated_share: float = 0.8  # of one buyer's notes exchanged this month, at one merchant
    concentrated_min_amount: int = 200_000  # of those notes, exchanged quickly
    ring_days: int = 3  # sold → exchanged within this many days, for every note of the buyer
    ring_min_buyers: int = 10
    ring_min_notes: int = 5  # a buyer with fewer notes this month is not counted in a ring
    limit_months: int = 3  # at the monthly limit in this month and the months before, this many in all
    limit_share: float = 0.8  # of the paper that buyer bought this month, exchanged at one merchant
    refusal_min: int = 1  # refused serials (already redeemed, unknown) in a month at one merchant
    evidence_ids: int = 1_000  # ids kept per list on a signal (the counts are always whole)


def person_name_key(name: str) -> str:
    """How a buyer's name and a merchant's representative are compared: without spaces, case folded.
    db/fraud.py's SQL does the same (lower(regexp_replace(name, '\\s', '', 'g')))."""
    return "".join((name or "").split()).lower()


def same_person_name(buyer_name: str, representative: str) -> bool:
    """A name match, no more: it catches a representative buying under their own name; it cannot
    tell two people of one name apart (김민준) nor see a relative, an employee or a borrowed identity."""
    key = person_name_key(buyer_name)
    return bool(key) and key == person_name_key(representative)


def fraud_score(rule: str, figures: dict, t: FraudThresholds) -> float:
    """How far over its threshold a signal is (1.0 = at the threshold), from the figures the SQL found."""
    def ratio(a, b):
        return float(a) / float(b) if b else float(a)

    if rule == "exchange_spike":
        return ratio(ratio(figures["amount"], figures["trailing_average"]), t.spike_ratio)
    if rule == "exchange_above_category":
        return ratio(ratio(figures["amount"], figures["category_median"]), t.category_ratio)
    if rule == "exchange_above_revenue":
        return ratio(figures["attempted"], figures["cap"] * t.revenue_share)
    if rule == "quick_self_exchange":
        return ratio(figures["quick_amount"], t.self_min_amount)
    if rule == "quick_concentrated":
        return ratio(figures["quick_amount"], t.concentrated_min_amount)
    if rule == "buyer_ring":
        return ratio(figures["buyers"], t.ring_min_buyers)
    if rule == "limit_buyer":
        return ratio(figures["share_of_bought"], t.limit_share)
    if rule == "refused_serial":
        return ratio(figures["refusals"], t.refusal_min)
    raise ValueError(f"unknown fraud rule {rule!r}")


# The base severity of each rule: a representative exchanging their own notes, a ring of buyers and
# exchanges beyond the declared revenue are the patterns of the city's 87 illegal-exchange cases.
FRAUD_BASE_SEVERITY = {
    "exchange_spike": 2, "exchange_above_category": 1, "exchange_above_revenue": 3, "quick_self_exchange": 3,
    "quick_concentrated": 2, "buyer_ring": 3, "limit_buyer": 2, "refused_serial": 2,
}
FRAUD_ESCALATE_AT = 2.0  # twice the threshold: one step more severe (at most high)


def fraud_severity(rule: str, score: float) -> int:
    """1 low, 2 medium, 3 high (choices.FraudSeverity)."""
    base = FRAUD_BASE_SEVERITY[rule]
    return min(3, base + 1) if score >= FRAUD_ESCALATE_AT else base


def fine_bounds(prior_fines: int) -> tuple[int, int]:
    """(least, most) a fine may be: a first offence is 6,000,000 KRW; a merchant fined before may be
    fined more, never above 20,000,000."""
    return (FINE_FIRST_OFFENCE, FINE_FIRST_OFFENCE) if prior_fines == 0 else (FINE_FIRST_OFFENCE, FINE_MAX)


def suggested_fine(prior_fines: int, last_fine: int | None) -> int:
    """What the fine form proposes: 6,000,000 first; after that twice the last fine, at most 20,000,000."""
    if prior_fines == 0 or not last_fine:
        return FINE_FIRST_OFFENCE
    return min(FINE_MAX, max(FINE_FIRST_OFFENCE, last_fine * 2))


def fine_refusal(*, amount, prior_fines: int) -> str | None:
    """Why `amount` may not be recorded as this merchant's fine, or None."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        return "invalid_fine"
    least, most = fine_bounds(prior_fines)
    if prior_fines == 0 and amount != FINE_FIRST_OFFENCE:
        return "invalid_fine.first_offence"
    if not least <= amount <= most:
        return "invalid_fine.range"
    return None
