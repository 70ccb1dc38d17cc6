"""Calendar months of Asia/Seoul as "YYYY-MM" strings: the key of the monthly limit (invariant 2)."""
import datetime as dt
import re
from zoneinfo import ZoneInfo


SEOUL = ZoneInfo("Asia/Seoul")
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def seoul(now: dt.datetime) -> dt.datetime:
    return now.astimezone(SEOUL)


def month_of(now: dt.datetime) -> str:
    """The Seoul calendar month an instant falls in: 2021-01-31T15:00Z is already "2021-02"."""
    local = seoul(now)
    return f"{local.year:04d}-{local.month:02d}"


def parse_month(month: str) -> tuple[int, int]:
    match = MONTH_RE.match(month or "")
    if not match:
        raise ValueError(f"not a YYYY-MM month: {month!r}")
    return int(match.group(1)), int(match.group(2))


def is_month(value) -> bool:
    return isinstance(value, str) and MONTH_RE.match(value) is not None


def first_day(month: str) -> dt.date:
    year, mon = parse_month(month)
    return dt.date(year, mon, 1)


def add_months(month: str, n: int) -> str:
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(month: str) -> dt.datetime:
    """00:00 KST on the 1st, as an aware datetime."""
    return dt.datetime.combine(first_day(month), dt.time(0, 0), tzinfo=SEOUL)
