"""Paper notes: which notes pay a face value, and unguessable serials with a check character."""
import secrets

from django.conf import settings

# Crockford base32: no I, L, O, U, so a serial read aloud or typed from paper is unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 15  # 75 random bits: a serial cannot be guessed from another one
SERIAL_PREFIX = "JL"
MOBILE_UNIT = 1_000


def denominations() -> tuple[int, ...]:
    """Configured paper denominations, largest first (FACTS.md: Jinju issues 5,000 and 10,000)."""
    values = settings.VOUCHERS_PAPER_DENOMINATIONS
    return tuple(sorted({int(v) for v in values}, reverse=True))


def note_breakdown(face_value: int) -> list[int] | None:
    """The notes of a paper sale, largest first; None when whole notes cannot make the amount."""
    notes = []
    rest = face_value
    for value in denominations():
        count, rest = divmod(rest, value)
        notes.extend([value] * count)
    return notes if rest == 0 else None


def payable(medium: str, face_value: int) -> bool:
    if face_value <= 0:
        return False
    if medium == "paper":
        return note_breakdown(face_value) is not None
    return face_value % MOBILE_UNIT == 0


def check_character(body: str) -> str:
    """Luhn mod 32 over the body: catches any single wrong character and most swaps of neighbours."""
    factor = 2
    total = 0
    n = len(ALPHABET)
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def is_valid_serial(serial: str) -> bool:
    if not isinstance(serial, str) or len(serial) != len(SERIAL_PREFIX) + RANDOM_LENGTH + 1:
        return False
    if not serial.startswith(SERIAL_PREFIX):
        return False
    body, check = serial[len(SERIAL_PREFIX):-1], serial[-1]
    if any(c not in ALPHABET for c in body):
        return False
    return check_character(body) == check


def new_serial() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{SERIAL_PREFIX}{body}{check_character(body)}"
