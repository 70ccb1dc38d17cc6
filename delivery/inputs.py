"""Input cleaners of the delivery app: public, raise the catalogue's InvalidInput, write nothing."""
from delivery.errors import refuse
from vouchers import months


# --- statements ---------------------------------------------------------------------------------------

def clean_month(value, *, field="month") -> str:
    """"YYYY-MM" (Asia/Seoul), else 400 invalid_month."""
    if not months.is_month(value):
        raise refuse("invalid_month", on=field)
    return value
