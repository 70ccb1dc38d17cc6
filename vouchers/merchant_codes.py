"""The public code of a merchant, printed on its QR poster and carried by `merchant_code`: 7 random
Crockford base32 characters (35 bits: not guessable from a neighbour's) and a check character, as
the paper-note serials (vouchers/notes.py), so a mistyped code is told apart from an unknown one."""
import random
import secrets

from vouchers.notes import ALPHABET, check_character

RANDOM_LENGTH = 7
LENGTH = RANDOM_LENGTH + 1


def new_code(rng: random.Random | None = None) -> str:
    """A fresh code; `rng` only for deterministic demo data (seed_demo), never for real merchants."""
    choice = rng.choice if rng is not None else secrets.choice
    body = "".join(choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def is_valid_code(value) -> bool:
    if not isinstance(value, str) or len(value) != LENGTH or any(c not in ALPHABET for c in value):
        return False
    return check_character(value[:-1]) == value[-1]
