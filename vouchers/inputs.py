"""Input cleaners shared by every entry point (API serializers, web forms, admin, seed, benchmark):
each returns the clean value or raises InvalidInput with the API.md code. They write nothing, so
serializers and selectors use them without importing services (which re-export them)."""
from django.conf import settings

from jinju_portal.money import MAX_KRW
from vouchers import months, rules
from vouchers.choices import Channel
from vouchers.errors import refuse
from vouchers.models import Tranche


def clean_face_value(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_KRW:
        raise refuse("invalid_face_value", {"face_value": [refuse("invalid_face_value").detail]})
    return value


def clean_buyer_ci(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= rules.MAX_BUYER_CI or not value.isprintable():
        raise refuse("invalid_buyer.ci", {"buyer_ci": [refuse("invalid_buyer.ci", max=rules.MAX_BUYER_CI).detail]},
                     max=rules.MAX_BUYER_CI)
    return value


def clean_buyer_name(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > rules.MAX_NAME or not value.isprintable():
        raise refuse("invalid_buyer.name", {"buyer_name": [refuse("invalid_buyer.name").detail]})
    return value.strip()


def clean_birth_year(value, now) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= months.seoul(now).year:
        raise refuse("invalid_buyer.birth_year", {"buyer_birth_year": [refuse("invalid_buyer.birth_year").detail]})
    return value


def unknown_tranche():
    return refuse("invalid_tranche", {"tranche": [refuse("invalid_tranche").detail]})


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
        raise refuse("invalid_quota", {"quota": [refuse("invalid_quota").detail]})
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
