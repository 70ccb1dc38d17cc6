"""Pure rules of the delivery app: no database, no clock, no writes.

- the Jinju 읍/면/동 a store's address names (JINJU_DONGS, dong_of);
- which store and operator status moves are allowed (the transition tables in choices.py);
- that a commission contract starts today or later and is never changed once in force.
"""
import datetime as dt
import re
from decimal import Decimal

from delivery.choices import OPERATOR_TRANSITIONS, STORE_TRANSITIONS
from jinju_portal.money import apply_rate


# Jinju's administrative units (1 읍, 15 면, 16 동 with the two the vouchers demo uses) and the legal
# 동 a road address names in brackets, e.g. "경상남도 진주시 평거로 12 (평거동)". Written once here:
# the vouchers demo list (vouchers/seed_merchants.DONGS) is a seed, not a rule, and the order of
# this tuple is the order the directory offers them in.
JINJU_EUP_MYEON = ("문산읍", "내동면", "정촌면", "금곡면", "진성면", "일반성면", "이반성면", "사봉면", "지수면",
                   "대곡면", "금산면", "집현면", "미천면", "명석면", "대평면", "수곡면")
JINJU_HAENGJEONG_DONG = ("천전동", "성북동", "중앙동", "상봉동", "상대동", "하대동", "상평동", "초장동", "평거동",
                         "신안동", "이현동", "판문동", "가호동", "충무공동", "가좌동", "봉안동")
JINJU_BEOPJEONG_DONG = ("칠암동", "망경동", "주약동", "강남동", "옥봉동", "장대동", "동성동", "대안동", "평안동",
                        "인사동", "수정동", "봉곡동", "호탄동", "초전동", "장재동", "하촌동", "유곡동", "귀곡동",
                        "본성동", "남성동", "계동", "봉래동", "중안동")
JINJU_DONGS = JINJU_HAENGJEONG_DONG + JINJU_EUP_MYEON + JINJU_BEOPJEONG_DONG
_DONG_SET = frozenset(JINJU_DONGS)
_TOKENS = re.compile(r"[\s,()\[\]·]+")

# Text limits of an application (the columns of Store)
MAX_NAME = 100
MAX_ADDRESS = 200
MAX_PHONE = 20
MAX_BRAND = 50
MAX_REASON = 200
MAX_QUERY = 50
PHONE = re.compile(r"[0-9][0-9\- ]{5,18}[0-9]")


def dong_of(address: str) -> str:
    """The first Jinju 읍/면/동 named in `address` ("" when none is): "경상남도 진주시 평거동 12" and
    "경상남도 진주시 평거로 12 (평거동)" both give "평거동"."""
    for token in _TOKENS.split(address or ""):
        if token in _DONG_SET:
            return token
    return ""


def store_may_move(current: str, target: str) -> bool:
    return target in STORE_TRANSITIONS.get(current, set())


def operator_may_move(current: str, target: str) -> bool:
    return target in OPERATOR_TRANSITIONS.get(current, set())


def contract_may_start(effective_from: dt.date, *, today: dt.date) -> bool:
    """A contract is added for today or a later day: an order already reported under the contract in
    force must keep its rate, so a day that has begun is never given a new one."""
    return effective_from >= today


def contract_in_force(effective_from: dt.date, *, today: dt.date) -> bool:
    """Once its first day has come, a contract is history: it is never edited or removed."""
    return effective_from <= today


def listing_brand(brand_names: list[str]) -> str | None:
    """The brand an owner's application is listed under with one operator: its only brand, else none."""
    return brand_names[0] if len(brand_names) == 1 else None


# --- statements ---------------------------------------------------------------------------------------
# What commercial delivery apps charge on the same food price (FACTS.md: 6–12 %); a statement shows
# both ends, rounded down to the won like every other figure of the portal.
COMMERCIAL_RATE_LOW = Decimal("0.06")
COMMERCIAL_RATE_HIGH = Decimal("0.12")


def commercial_commission(food_total: int) -> tuple[int, int]:
    """(floor(food × 6 %), floor(food × 12 %)) in whole won."""
    return apply_rate(food_total, COMMERCIAL_RATE_LOW), apply_rate(food_total, COMMERCIAL_RATE_HIGH)


def statement_figures(*, order_count: int, food_total: int, commission: int, adjustments: int = 0,
                      adjustment_count: int = 0) -> dict:
    """Every figure of a statement from its three sums (and its adjustments): saved = commercial − paid."""
    low, high = commercial_commission(food_total)
    return {"order_count": order_count, "food_total": food_total, "commission": commission,
            "commercial_commission_low": low, "commercial_commission_high": high,
            "saved_low": low - commission, "saved_high": high - commission,
            "adjustments": adjustments, "adjustment_count": adjustment_count}


STATEMENT_FIGURES = ("order_count", "food_total", "commission", "commercial_commission_low",
                     "commercial_commission_high", "saved_low", "saved_high", "adjustments", "adjustment_count")
