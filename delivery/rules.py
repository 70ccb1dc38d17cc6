"""Pure rules of the delivery app: no database, no clock, no writes."""
from decimal import Decimal

from jinju_portal.money import apply_rate

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
