"""Input cleaners shared by every entry point (API serializers, web forms, admin, seed, benchmark):
each returns the clean value or raises InvalidInput with the API.md code. They write nothing, so
serializers and selectors use them without importing services (which re-export them)."""
import datetime as dt
import re

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

from jinju_portal import bizno
from jinju_portal.money import MAX_KRW
from vouchers import merchant_codes, months, rules
from vouchers.choices import Channel, Medium
from vouchers.errors import refuse
from vouchers.models import Merchant, MerchantCategory, Tranche


def clean_face_value(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_KRW:
        raise refuse("invalid_face_value", on="face_value")
    return value


def clean_buyer_ci(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= rules.MAX_BUYER_CI or not value.isprintable():
        raise refuse("invalid_buyer.ci", on="buyer_ci", max=rules.MAX_BUYER_CI)
    return value


def clean_buyer_name(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > rules.MAX_NAME or not value.isprintable():
        raise refuse("invalid_buyer.name", on="buyer_name")
    return value.strip()


def clean_birth_year(value, now) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= months.seoul(now).year:
        raise refuse("invalid_buyer.birth_year", on="buyer_birth_year")
    return value


def unknown_tranche():
    return refuse("invalid_tranche", on="tranche")


def clean_tranche_id(value) -> int:
    if isinstance(value, Tranche):
        return value.pk
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_KRW:
        raise unknown_tranche()
    return value


_CHANNELS = frozenset(Channel.values)  # Channel.values builds a new list on every call


def clean_channel(value) -> str:
    if not isinstance(value, str) or value not in _CHANNELS:
        raise refuse("invalid_channel", choices=", ".join(Channel.values))
    return value


def clean_quota(quota) -> int:
    if isinstance(quota, bool) or not isinstance(quota, int) or not 0 < quota <= rules.MAX_QUOTA:
        raise refuse("invalid_quota", on="quota")
    return quota


def within_sale_maximum(x: int) -> bool:
    """Amounts above VOUCHERS_MAX_FACE_VALUE never reach the write path (no notes drawn for 10^15 won)."""
    return x <= settings.VOUCHERS_MAX_FACE_VALUE


# A tranche's medium never changes after creation (the admin shows it read-only), so each process
# remembers it: the hot path needs it to pick the statement and the note breakdown without a read.
_MEDIUM_CACHE: dict[int, str] = {}


def tranche_medium(tranche_id: int) -> str:
    """The (immutable) medium of a tranche, from a per-process cache; unknown → 400 invalid_tranche."""
    medium = _MEDIUM_CACHE.get(tranche_id)
    if medium is None:
        medium = Tranche.objects.filter(pk=tranche_id).values_list("medium", flat=True).first()
        if medium is None:
            raise unknown_tranche()
        _MEDIUM_CACHE[tranche_id] = medium  # a dict assignment is atomic under the GIL
    return medium


def forget_tranche_media() -> None:
    _MEDIUM_CACHE.clear()


# --- merchants (가맹점) --------------------------------------------------------------------------------

def clean_business_number(value) -> str:
    """'220-81-62517' (or with spaces, or bare digits) -> '2208162517'; a wrong check digit → 400."""
    if not isinstance(value, str) or len(value) > 20 or not bizno.is_valid(value):
        raise refuse("invalid_business_number", on="business_number")
    return bizno.normalize(value)


# field name → (Korean label, max length, required)
MERCHANT_TEXT = {
    "name": ("상호", Merchant._meta.get_field("name").max_length, True),
    "address": ("주소", Merchant._meta.get_field("address").max_length, True),
    "dong": ("읍면동", Merchant._meta.get_field("dong").max_length, True),
    "representative": ("대표자", Merchant._meta.get_field("representative").max_length, True),
    "phone": ("전화번호", Merchant._meta.get_field("phone").max_length, False),
}


def clean_merchant_text(field: str, value) -> str:
    """A merchant's descriptive text: printable, trimmed, within its column (phone may be empty)."""
    label, max_length, required = MERCHANT_TEXT[field]
    text = value.strip() if isinstance(value, str) else None
    if value is None and not required:
        text = ""
    if text is None or len(text) > max_length or not text.isprintable() or (required and not text):
        key = "invalid_merchant.text" if required else "invalid_merchant.optional_text"
        raise refuse(key, on=field, field=label, max=max_length)
    return text


def clean_annual_revenue(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_KRW:
        raise refuse("invalid_merchant.revenue", on="annual_revenue")
    return value


def clean_accepts(*, accepts_paper, accepts_mobile) -> tuple[bool, bool]:
    if not isinstance(accepts_paper, bool) or not isinstance(accepts_mobile, bool) or not (
            accepts_paper or accepts_mobile):
        detail = refuse("invalid_merchant.accepts").detail
        raise refuse("invalid_merchant.accepts", {"accepts_paper": [detail], "accepts_mobile": [detail]})
    return accepts_paper, accepts_mobile


def clean_category(value) -> MerchantCategory:
    """A category given as the row, its id or its code; unknown → 400 invalid_category."""
    if isinstance(value, MerchantCategory):
        return value
    category = None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_KRW:
        category = MerchantCategory.objects.filter(pk=value).first()
    elif isinstance(value, str) and 0 < len(value) <= 32:
        category = MerchantCategory.objects.filter(code=value).first()
    if category is None:
        raise refuse("invalid_category", on="category")
    return category


CATEGORY_CODE = re.compile(r"[a-z0-9_]{1,32}")


def clean_category_code(value) -> str:
    if not isinstance(value, str) or not CATEGORY_CODE.fullmatch(value):
        raise refuse("invalid_category.code", on="code", max=32)
    return value


def clean_category_name(value) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 0 < len(text) <= 100 or not text.isprintable():
        raise refuse("invalid_category.name", on="name", max=100)
    return text


MAX_REASON = 200


def clean_reason(value, *, required=True) -> str:
    """Why a clerk suspends or cancels (kept on the merchant and in the trail)."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_REASON or not text.isprintable() or (required and not text):
        raise refuse("invalid_reason", on="reason", max=MAX_REASON)
    return text


MAX_QUERY = 50
_ACCEPTS = {Medium.PAPER.value: "accepts_paper", Medium.MOBILE.value: "accepts_mobile"}


def clean_directory_filters(params) -> dict:
    """The directory's query string: q (≤ 50 characters), accepts=paper|mobile, category (a code),
    dong (≤ 20 characters). Blank values are ignored; anything else wrong → 400 invalid_filter."""
    out = {}
    q = (params.get("q") or "").strip()
    if q:
        if len(q) > MAX_QUERY or not q.isprintable():
            raise refuse("invalid_filter.q", on="q", max=MAX_QUERY)
        out["q"] = q
    accepts = (params.get("accepts") or "").strip()
    if accepts:
        if accepts not in _ACCEPTS:
            raise refuse("invalid_filter.accepts", on="accepts")
        out["accepts"] = _ACCEPTS[accepts]
    category = (params.get("category") or "").strip()
    if category:
        if not CATEGORY_CODE.fullmatch(category) or not MerchantCategory.objects.filter(code=category).exists():
            shown = category[:32]
            raise refuse("invalid_filter.category", on="category", value=shown)
        out["category"] = category
    dong = (params.get("dong") or "").strip()
    if dong:
        max_dong = Merchant._meta.get_field("dong").max_length
        if len(dong) > max_dong or not dong.isprintable():
            raise refuse("invalid_filter.dong", on="dong", max=max_dong)
        out["dong"] = dong
    return out


# --- paying merchants ----------------------------------------------------------------------------

def clean_amount(value, *, field: str = "amount") -> int:
    """A payment or refund amount: a JSON integer of whole won, 1 … MAX_KRW. 1.5, "1000", "1e3",
    true and 10^30 are all refused (400 `invalid_amount`)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_KRW:
        raise refuse("invalid_amount", on=field)
    return value


def clean_pay_code(value) -> str:
    """The QR value (printable ASCII, up to rules.MAX_PAY_CODE) or the 6-digit short code. A code
    of the right shape that is unknown is a business refusal (409 `invalid_pay_code`) decided by
    the service; a value that cannot be a code at all is 400 here."""
    if (not isinstance(value, str) or not 1 <= len(value) <= rules.MAX_PAY_CODE or not value.isascii()
            or not value.isprintable() or value != value.strip()):
        raise refuse("invalid_pay_code.format", on="pay_code")
    return value


def is_short_code(value: str) -> bool:
    return len(value) == rules.SHORT_CODE_DIGITS and value.isascii() and value.isdigit()


def clean_merchant_code(value) -> str:
    """A merchant's public code (QR poster); upper-cased, as people type it. Wrong shape or check
    character: 400 `invalid_merchant` (an unknown but well-formed one is refused the same way)."""
    text = value.strip().upper() if isinstance(value, str) else value
    if not merchant_codes.is_valid_code(text):
        raise refuse("invalid_merchant.code", on="merchant_code")
    return text


# --- a merchant's staff accounts -----------------------------------------------------------------

def clean_new_username(value) -> str:
    """A username for a new merchant account, as Django's own sign-in takes it (NFKC-normalised,
    letters, digits and @.+-_, up to the model's length), not yet taken by any account."""
    user_model = get_user_model()
    limit = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
    text = user_model.normalize_username(value.strip()) if isinstance(value, str) else ""
    try:
        UnicodeUsernameValidator()(text)
    except ValidationError:
        text = ""
    if not 1 <= len(text) <= limit:
        raise refuse("invalid_username", on="username", max=limit)
    if user_model._default_manager.filter(**{f"{user_model.USERNAME_FIELD}__iexact": text}).exists():
        raise refuse("invalid_username.taken", on="username")
    return text


def clean_new_password(value, *, username: str) -> str:
    """The initial password the owner (or a clerk) sets, through Django's AUTH_PASSWORD_VALIDATORS;
    their own sentences (translated by Django) go under the field."""
    if not isinstance(value, str) or not value:
        raise refuse("invalid_password", on="password")
    user_model = get_user_model()
    try:
        password_validation.validate_password(value, user=user_model(**{user_model.USERNAME_FIELD: username}))
    except ValidationError as exc:
        raise refuse("invalid_password", {"password": list(exc.messages)}) from None
    return value


# --- paper exchange (환전) at the bank counter ------------------------------------------------------

def clean_serial(value) -> str | None:
    """One handed-in serial as notes are written (vouchers/notes.py: upper-case, no spaces): trimmed
    and upper-cased; None when it cannot be a serial at all (not text, empty, over 40 characters, not
    printable). A well-shaped serial that is not ours is the service's `unknown`, recorded."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if not 1 <= len(text) <= rules.MAX_SERIAL_INPUT or not text.isprintable():
        return None
    return text


def clean_serials(value, *, limit: int = rules.MAX_EXCHANGE_SERIALS) -> list[str]:
    """The serials handed in at a counter (an exchange; a paper balance refund with `limit`
    MAX_REFUND_SERIALS), cleaned one by one, in the order given: a JSON list of 1–`limit`
    strings. The same serial twice (after trimming and upper-casing) refuses the whole request with
    the duplicates named: a note is handed in once, and a double scan at the counter must not show up
    as an `already_redeemed` refusal (a fraud signal) nor be dropped silently. 400 `invalid_serials`."""
    if not isinstance(value, list) or not 1 <= len(value) <= limit:
        raise refuse("invalid_serials", on="serials", max=limit)
    cleaned, seen, twice = [], set(), []
    for position, item in enumerate(value, start=1):
        serial = clean_serial(item)
        if serial is None:
            raise refuse("invalid_serials.item", on="serials", length=rules.MAX_SERIAL_INPUT, position=position)
        if serial in seen and serial not in twice:
            twice.append(serial)
        seen.add(serial)
        cleaned.append(serial)
    if twice:
        shown = ", ".join(twice[:5]) + (" …" if len(twice) > 5 else "")
        raise refuse("invalid_serials.duplicate", on="serials", serials=shown)
    return cleaned


def clean_exchange_merchant(value) -> str:
    """The exchanging merchant's business number (220-81-62517 or bare digits) → its 10 digits; a
    malformed number is 400 `invalid_merchant` on `merchant` (API.md: the exchange names no other code)."""
    if not isinstance(value, str) or len(value) > 20 or not bizno.is_valid(value):
        raise refuse("invalid_merchant.business_number", on="merchant")
    return bizno.normalize(value)


def clean_exchange_cap(value) -> int | None:
    """A merchant's monthly exchange cap set by staff: whole won, 0 … MAX_KRW; None for the default."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_KRW:
        raise refuse("invalid_exchange_cap", on="monthly_exchange_cap")
    return value
MAX_REFUND_SERIALS = 500  # notes handed in for a balance refund at one counter visit
# --- daily settlement (정산) ----------------------------------------------------------------------------

_ISO_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
MAX_BANK_NAME = 30
MAX_HOLDER = 50
ACCOUNT_DIGITS = (6, 20)


def clean_settlement_date(value, *, field: str = "date") -> dt.date:
    """A settlement day as YYYY-MM-DD (the API's ?date=, the command's argument)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = value if isinstance(value, str) else ""
    if _ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise refuse("invalid_date", on=field)


def clean_bank_account(*, bank_code, bank_name, account_number, holder) -> dict:
    """A merchant's bank account: bank code of 3 digits, a name, 6–20 digits (hyphens kept as typed),
    a holder; printable text only (it goes into the bank's transfer file)."""
    code = bank_code.strip() if isinstance(bank_code, str) else ""
    if not (len(code) == 3 and code.isascii() and code.isdigit()):
        raise refuse("invalid_bank_account.bank_code", on="bank_code")
    name = bank_name.strip() if isinstance(bank_name, str) else ""
    if not 1 <= len(name) <= MAX_BANK_NAME or not name.isprintable() or "," in name:
        raise refuse("invalid_bank_account.bank_name", on="bank_name", max=MAX_BANK_NAME)
    number = account_number.strip() if isinstance(account_number, str) else ""
    digits = number.replace("-", "")
    low, high = ACCOUNT_DIGITS
    if not (digits.isascii() and digits.isdigit() and low <= len(digits) <= high) or "--" in number \
            or number.startswith("-") or number.endswith("-"):
        raise refuse("invalid_bank_account.number", on="account_number", min=low, max=high)
    who = holder.strip() if isinstance(holder, str) else ""
    if not 1 <= len(who) <= MAX_HOLDER or not who.isprintable():
        raise refuse("invalid_bank_account.holder", on="holder", max=MAX_HOLDER)
    return {"bank_code": code, "bank_name": name, "account_number": number, "holder": who}
