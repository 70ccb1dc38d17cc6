"""Money helpers: integer KRW, Decimal rates, and the one rounding rule (floor to the won)."""
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

# Largest amount PostgreSQL's bigint holds; anything above is refused as input, never stored.
MAX_KRW = 2**63 - 1


def to_rate(value) -> Decimal:
    """A rate as Decimal, never through float: '0.1' -> Decimal('0.1')."""
    if isinstance(value, float):
        raise TypeError("rates must not be floats; pass a str or Decimal")
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a rate: {value!r}") from exc


def floor_won(value: Decimal) -> int:
    """Round a Decimal amount down to the whole won. Every fractional won in the portal is floored:
    the citizen pays floor(face × (1 − discount)), commission is floor(food × rate)."""
    return int(Decimal(value).to_integral_value(rounding=ROUND_FLOOR))


def apply_rate(amount: int, rate) -> int:
    """floor(amount × rate) in whole won."""
    return floor_won(Decimal(int(amount)) * to_rate(rate))


def discounted_price(face_value: int, discount_rate) -> int:
    """floor(face_value × (1 − discount_rate)): 5,000 at 0.0333 costs 4,833 (API.md)."""
    return floor_won(Decimal(int(face_value)) * (Decimal(1) - to_rate(discount_rate)))


def format_krw(amount) -> str:
    """300000 -> '300,000원' (in English: '₩300,000'); None -> ''."""
    from django.utils.translation import gettext

    if amount is None or amount == "":
        return ""
    # Translators: an amount of Korean won; keep %(amount)s.
    return gettext("%(amount)s원") % {"amount": f"{int(amount):,}"}
