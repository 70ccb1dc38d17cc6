"""Korean business registration number (사업자등록번호) normalisation and check-digit validation."""
import re

WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SEPARATORS = re.compile(r"[\s-]")


def normalize(value: str) -> str:
    """'220-81-62517' -> '2208162517'. Does not validate."""
    return _SEPARATORS.sub("", str(value or ""))


def check_digit(first_nine: str) -> int:
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, WEIGHTS))
    total += digits[8] * 5 // 10
    return (10 - total % 10) % 10


def is_valid(value: str) -> bool:
    number = normalize(value)
    if len(number) != 10 or not number.isascii() or not number.isdigit():
        return False
    return check_digit(number[:9]) == int(number[9])


def format_number(value: str) -> str:
    """'2208162517' -> '220-81-62517'."""
    n = normalize(value)
    return f"{n[:3]}-{n[3:5]}-{n[5:]}" if len(n) == 10 else value


def validate_business_number(value):
    """Django/DRF validator; raises django.core.exceptions.ValidationError with code
    `invalid_business_number`."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext

    if not is_valid(value):
        raise ValidationError(gettext("사업자등록번호가 올바르지 않습니다 (XXX-XX-XXXXX, 검증번호 확인)."),
                              code="invalid_business_number")
