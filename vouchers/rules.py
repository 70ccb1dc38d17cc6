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

from jinju_portal.money import format_krw
from vouchers import months, notes
from vouchers.choices import (MERCHANT_TRANSITIONS, Medium, MerchantStatus, PaymentStatus, PurchaseStatus,
                              ReservationStatus)
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
