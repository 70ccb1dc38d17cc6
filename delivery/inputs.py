"""Input cleaners of the delivery app, shared by every entry point (API serializers, the owner's
form, the admin, the seed): each returns the clean value or raises InvalidInput with the API.md
code. They write nothing, so serializers and selectors use them without importing services."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils import translation

from delivery import rules
from delivery.choices import StoreCategory, StoreStatus
from delivery.errors import refuse
from jinju_portal import bizno
from jinju_portal.money import MAX_KRW


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
