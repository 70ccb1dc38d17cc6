"""The one clock helper: services take `now` (tests, late jobs) and fall back to the real time."""
import datetime as dt

from django.utils import timezone


def now_or(now: dt.datetime | None) -> dt.datetime:
    """`now` when given, else the current instant (aware, UTC)."""
    return now if now is not None else timezone.now()
