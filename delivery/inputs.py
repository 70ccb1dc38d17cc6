"""Input cleaners of the delivery app, shared by every entry point (API, admin, seed, benchmark): each
returns the clean value or raises InvalidInput (400) with the API.md code, and writes nothing."""
import datetime as dt
import hashlib

from django.conf import settings

from delivery.choices import PaymentMethod
from delivery.errors import message, refuse
from delivery.models import EXTERNAL_ID_MAX
from jinju_portal.errors import InvalidInput, ServiceError
from jinju_portal.money import MAX_KRW
from vouchers import inputs as voucher_inputs

# --- orders ------------------------------------------------------------------------------------------

ORDERED_AT_MAX_CHARS = 40  # "2026-12-01T12:30:00.123456+09:00" is 32
CANCEL_REASON_MAX = 200  # Order.cancel_reason
_PAYMENT_METHODS = frozenset(PaymentMethod.values)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clean_store_id(value) -> int:
    """A store's id as the operator knows it: a JSON integer (not text, not true); else 400 invalid_store."""
    if not _is_int(value) or not 0 < value <= MAX_KRW:
        raise refuse("invalid_store", on="store")
    return value


def clean_external_id(value) -> str:
    """The operator's own order id: 1–100 printable characters, kept exactly as sent."""
    if not isinstance(value, str) or not 1 <= len(value) <= EXTERNAL_ID_MAX or not value.isprintable():
        raise refuse("invalid_external_id", on="external_id", max=EXTERNAL_ID_MAX)
    return value


def clean_food_amount(value) -> int:
    """Whole won, 1 … DELIVERY_MAX_ORDER_AMOUNT (1.5, "12000", true and 10^30 are refused)."""
    if not _is_int(value) or not 1 <= value <= settings.DELIVERY_MAX_ORDER_AMOUNT:
        raise refuse("invalid_amount.food", on="food_amount")
    return value


def clean_delivery_fee(value) -> int:
    """Whole won, 0 … DELIVERY_MAX_ORDER_AMOUNT."""
    if not _is_int(value) or not 0 <= value <= settings.DELIVERY_MAX_ORDER_AMOUNT:
        raise refuse("invalid_amount", on="delivery_fee")
    return value


def clean_payment_method(value) -> str:
    if not isinstance(value, str) or value not in _PAYMENT_METHODS:
        raise refuse("invalid_payment_method", on="payment_method")
    return value


def clean_order_pay_code(value, *, payment_method: str) -> str | None:
    """The citizen's one-time code (its shape checked by vouchers.inputs.clean_pay_code): required for
    jinju_love, absent (or null) for card and cash. An unknown or spent code is the service's 409."""
    if payment_method == PaymentMethod.JINJU_LOVE:
        if value is None:
            raise _bad_pay_code("invalid_pay_code.required")
        try:
            return voucher_inputs.clean_pay_code(value)
        except ServiceError:  # not shaped like a code at all: the input's fault (400), not a spent code's
            raise _bad_pay_code("invalid_pay_code.format") from None
    if value is not None:
        raise _bad_pay_code("invalid_pay_code.not_allowed")
    return None


def _bad_pay_code(key) -> InvalidInput:
    """400 invalid_pay_code (the code's own status, 409, is for a well-formed code unknown or spent)."""
    return InvalidInput("invalid_pay_code", message(key), {"pay_code": [message(key)]})


def clean_ordered_at(value, *, now: dt.datetime) -> dt.datetime:
    """ISO 8601 with its offset; not ahead of `now` by more than DELIVERY_ORDER_CLOCK_SKEW_SECONDS (an
    operator's server clock drifts), not older than DELIVERY_MAX_ORDER_AGE_DAYS."""
    if not isinstance(value, str) or not 10 <= len(value) <= ORDERED_AT_MAX_CHARS or not value.isascii():
        raise refuse("invalid_ordered_at", on="ordered_at")
    try:
        instant = dt.datetime.fromisoformat(value)
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("no offset")
        instant.astimezone(dt.timezone.utc)  # year 1 at +14:00 cannot be placed on the timeline
    except (ValueError, OverflowError):
        raise refuse("invalid_ordered_at", on="ordered_at") from None
    if instant > now + dt.timedelta(seconds=settings.DELIVERY_ORDER_CLOCK_SKEW_SECONDS):
        raise refuse("invalid_ordered_at.future", on="ordered_at")
    days = settings.DELIVERY_MAX_ORDER_AGE_DAYS
    if instant < now - dt.timedelta(days=days):
        raise refuse("invalid_ordered_at.too_old", on="ordered_at", days=days)
    return instant


def clean_cancel_reason(value) -> str:
    """Optional: up to 200 printable characters (line breaks allowed), trimmed."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > CANCEL_REASON_MAX or not value.replace("\n", " ").isprintable():
        raise refuse("invalid_reason", on="reason", max=CANCEL_REASON_MAX)
    return value.strip()


def clean_order(*, store, external_id, food_amount, delivery_fee, payment_method, ordered_at, pay_code,
                now) -> dict:
    """Every field of a reported order, in the order API.md lists them; the first wrong one is refused."""
    cleaned = {"store": clean_store_id(store), "external_id": clean_external_id(external_id),
               "food_amount": clean_food_amount(food_amount), "delivery_fee": clean_delivery_fee(delivery_fee),
               "payment_method": clean_payment_method(payment_method)}
    cleaned["ordered_at"] = (_checked_instant(ordered_at, now=now) if isinstance(ordered_at, dt.datetime)
                             else clean_ordered_at(ordered_at, now=now))
    cleaned["pay_code"] = clean_order_pay_code(pay_code, payment_method=cleaned["payment_method"])
    return cleaned


def _checked_instant(instant: dt.datetime, *, now) -> dt.datetime:
    """An aware datetime passed by a caller in this process (seed, tests): the same window."""
    if instant.tzinfo is None:
        raise refuse("invalid_ordered_at", on="ordered_at")
    return clean_ordered_at(instant.isoformat(), now=now)


def order_request_hash(*, store, external_id, food_amount, delivery_fee, payment_method, ordered_at) -> str:
    """What tells a retry of a report from another order under the same external_id: the normalized
    body (ordered_at as its UTC instant), never the pay code (single use: a retry may send a new one)."""
    instant = ordered_at.astimezone(dt.timezone.utc).isoformat()
    text = "\x1f".join((str(store), external_id, str(food_amount), str(delivery_fee), payment_method, instant))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
