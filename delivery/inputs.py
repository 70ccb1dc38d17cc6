"""Input cleaners of the delivery app, shared by every entry point (API serializers, the owner's
form, the admin, the seed): each returns the clean value or raises InvalidInput with the API.md
code. They write nothing, so serializers and selectors use them without importing services."""
import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import translation

from delivery import rules
from delivery.choices import PaymentMethod, StoreCategory, StoreStatus
from delivery.errors import message, refuse
from delivery.models import EXTERNAL_ID_MAX
from jinju_portal import bizno
from jinju_portal.errors import InvalidInput, ServiceError
from jinju_portal.money import MAX_KRW
from vouchers import inputs as voucher_inputs, months


def clean_business_number(value) -> str:
    """'220-81-62517' (or bare digits, or with spaces) -> '2208162517'; a wrong check digit → 400."""
    if not isinstance(value, str) or len(value) > 20 or not bizno.is_valid(value):
        raise refuse("invalid_business_number", on="business_number")
    return bizno.normalize(value)


# field → (Korean label, max length, required)
STORE_TEXT = {
    "name": ("상호", rules.MAX_NAME, True),
    "address": ("주소", rules.MAX_ADDRESS, True),
    "phone": ("전화번호", rules.MAX_PHONE, False),
}


def _text_error(field, value) -> str | None:
    label, max_length, required = STORE_TEXT[field]
    if value is None and not required:
        return None
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > max_length or not text.isprintable() or (required and not text):
        return refuse("invalid_store_info.text", field=label, max=max_length).detail
    if field == "phone" and text and not rules.PHONE.fullmatch(text):
        return refuse("invalid_store_info.phone", max=max_length).detail
    return None


def clean_store_info(*, name, address, phone="") -> dict:
    """An application's name, address and phone, trimmed; every wrong one is listed under its field
    in one 400 invalid_store_info. The 동 comes from the address (rules.dong_of)."""
    values = {"name": name, "address": address, "phone": phone}
    fields = {}
    for field, value in values.items():
        error = _text_error(field, value)
        if error:
            fields[field] = [error]
    if fields:
        raise refuse("invalid_store_info", fields)
    out = {field: (value or "").strip() for field, value in values.items()}
    out["dong"] = rules.dong_of(out["address"])
    return out


def category_choices() -> str:
    return ", ".join(f"{code} ({label})" for code, label in StoreCategory.choices)


def clean_category(value) -> str:
    """A StoreCategory code ("chicken") or its Korean label ("치킨") -> the code; else 400."""
    if isinstance(value, str):
        text = value.strip()
        if text in StoreCategory.values:
            return text
        labels = {str(label): code for code, label in StoreCategory.choices}  # in the active language
        with translation.override("ko"):  # and the Korean source text, whatever the language
            labels.update({str(label): code for code, label in StoreCategory.choices})
        code = labels.get(text)
        if code:
            return code
    raise refuse("invalid_category", on="category", choices=category_choices())


def clean_brand_name(value) -> str | None:
    """The brand an application names: None or "" for none, otherwise a name (whose operator the
    service checks: 400 invalid_brand)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > rules.MAX_BRAND or not value.isprintable():
        raise refuse("invalid_brand.text", on="brand", max=rules.MAX_BRAND)
    return value.strip() or None


def clean_reason(value, *, required=True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > rules.MAX_REASON or not text.isprintable() or (required and not text):
        raise refuse("invalid_reason", on="reason", max=rules.MAX_REASON)
    return text


def clean_store_status(value) -> str:
    if not isinstance(value, str) or value not in StoreStatus.values:
        raise refuse("invalid_store_info.status", on="status", choices=", ".join(StoreStatus.values))
    return value


def clean_rate(value) -> Decimal:
    """"0.0200", Decimal("0.02") -> Decimal("0.0200"): 0 ≤ rate < 1 with at most 4 places."""
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        raise refuse("invalid_rate", on="rate")
    try:
        rate = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise refuse("invalid_rate", on="rate") from None
    if not rate.is_finite() or not 0 <= rate < 1 or rate != rate.quantize(Decimal("0.0001")):
        raise refuse("invalid_rate", on="rate")
    return rate.quantize(Decimal("0.0001"))


def clean_day(value) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        raise refuse("invalid_contract.day", on="effective_from")
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise refuse("invalid_contract.day", on="effective_from") from None
    return value


def clean_waiver(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_KRW:
        raise refuse("invalid_contract.waiver", on="waiver_monthly_food")
    return value


def clean_note(value) -> str:
    text = value.strip() if isinstance(value, str) else "" if value is None else None
    if text is None or len(text) > 200 or not text.isprintable():
        raise refuse("invalid_contract.note", on="note", max=200)
    return text


def clean_directory_filters(params, *, brands: list[str]) -> dict:
    """The directory's query string: brand (one of `brands`), category (code or label), dong (≤ 20),
    q (the name, partial, ≤ 50). Blank values are ignored; anything else wrong → 400."""
    out = {}
    brand = (params.get("brand") or "").strip()
    if brand:
        if brand not in brands:
            raise refuse("invalid_brand.filter", on="brand", brands=", ".join(brands))
        out["brand"] = brand
    category = (params.get("category") or "").strip()
    if category:
        out["category"] = clean_category(category)
    for field, max_length in (("dong", 20), ("q", rules.MAX_QUERY)):
        text = (params.get(field) or "").strip()
        if not text:
            continue
        if len(text) > max_length or not text.isprintable():
            raise refuse("invalid_store_info.filter", on=field, field=field, max=max_length)
        out[field] = text
    return out


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


def clean_month(value, *, field="month") -> str:
    """"YYYY-MM" (Asia/Seoul), else 400 invalid_month."""
    if not months.is_month(value):
        raise refuse("invalid_month", on=field)
    return value
