"""Page-level orchestration of the citizen pages: what to show, and the payment round trip.

No business rule lives here: every decision (may this citizen buy, is the hold still there, may this
purchase be cancelled) is the services'; this module gathers what a page shows, turns refusal codes
into Korean sentences, and drives the gateway → services hand-over of a web payment.
"""
import logging
import secrets
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from jinju_portal import clock
from jinju_portal.errors import ServiceError
from vouchers import months, payments, rules, selectors, services
from vouchers.choices import ReservationStatus
from vouchers.errors import message, refuse
from vouchers.models import Purchase, Reservation, Tranche

logger = logging.getLogger(__name__)

SESSION_PAYMENTS = "vouchers_payment_references"
SESSION_FORM_TOKENS = "vouchers_buy_form_tokens"


# --- what the landing page shows -----------------------------------------------------------------

@dataclass
class TrancheRow:
    tranche: Tranche
    remaining: int
    percent_left: float
    rotation_day: int | None  # 1–5 while the 5부제 applies, else None
    rotation_digits: tuple[int, int] | None
    admits_me: bool | None  # None: not signed in / not verified, or no rotation today
    discount_percent: str  # "10" for 0.1000


def tranche_rows(*, citizen=None, now=None, medium=None) -> list[TrancheRow]:
    now = clock.now_or(now)
    rows = []
    for tranche in selectors.open_tranches(now=now, medium=medium):
        remaining = max(tranche.quota - tranche.sold, 0)
        percent = round(remaining * 100 / tranche.quota, 1) if tranche.quota else 0.0
        day = rules.rotation_day(tranche.opens_at, now) if tranche.rotation else None
        digits = rules.rotation_digits(day) if day is not None else None
        if digits is None:
            day = None
        admits = None
        if day is not None and citizen is not None:
            admits = rules.rotation_admits(tranche=tranche, birth_year=citizen.birth_year, now=now)
        rows.append(TrancheRow(tranche=tranche, remaining=remaining, percent_left=percent, rotation_day=day,
                               rotation_digits=digits, admits_me=admits,
                               discount_percent=percent_text(tranche.discount_rate)))
    return rows


def percent_text(rate) -> str:
    """Decimal("0.1000") -> "10", Decimal("0.0333") -> "3.33"."""
    text = f"{rate * 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def month_summary(*, citizen, now=None) -> dict:
    """{month, limit, purchased, remaining}; a citizen who never bought has the full limit."""
    return selectors.buyer_usage(citizen=citizen, now=clock.now_or(now))


# --- refusals as the page shows them ------------------------------------------------------------

def refusal_message(exc: ServiceError) -> str:
    """The service's own sentence (vouchers/errors.py holds every one, with its figures)."""
    return str(exc.detail)


# --- the payment round trip: reserve (services) → gateway → confirm or fail (services) ------------

def gateway() -> payments.PaymentGateway | None:
    """The configured gateway, or None when online payment is not set up (pages say so)."""
    try:
        return payments.get_gateway()
    except (ImproperlyConfigured, ImportError):
        logger.exception("no usable payment gateway")
        return None


def reservation_state(reservation: Reservation, now=None) -> str:
    """pending | paid | failed | expired, as the page shows it (the rule: rules.reservation_state)."""
    return rules.reservation_state(reservation, clock.now_or(now))


def new_token() -> str:
    return secrets.token_urlsafe(16)


def remember_token(session, token: str, reservation_id: int) -> None:
    """The buy form carries a one-off token: sent again (double click, back + resubmit) it leads to
    the hold it already made instead of a second hold."""
    if not token or len(token) > 64:
        return
    tokens = session.get(SESSION_FORM_TOKENS, {})
    tokens[token] = reservation_id
    session[SESSION_FORM_TOKENS] = dict(list(tokens.items())[-20:])


def reservation_for_token(session, token: str) -> int | None:
    return session.get(SESSION_FORM_TOKENS, {}).get(token) if token else None


def pending_reservations(*, citizen, now=None) -> list[Reservation]:
    """Holds still waiting for payment, to lead the citizen back to them."""
    now = clock.now_or(now)
    return list(Reservation.objects.filter(citizen=citizen, status=ReservationStatus.HELD, expires_at__gt=now)
                .select_related("tranche").order_by("-id")[:5])


def remember_payment(session, reservation_id: int, reference: str) -> None:
    """The references this browser started, so a return can only settle a payment it began."""
    refs = session.get(SESSION_PAYMENTS, {})
    refs.setdefault(str(reservation_id), [])
    if reference not in refs[str(reservation_id)]:
        refs[str(reservation_id)] = (refs[str(reservation_id)] + [reference])[-5:]
    session[SESSION_PAYMENTS] = refs


def started_here(session, reservation_id: int, reference: str) -> bool:
    return reference in session.get(SESSION_PAYMENTS, {}).get(str(reservation_id), [])


@dataclass
class PaymentResult:
    state: str  # paid | failed | expired
    purchase: Purchase | None = None
    refunded: bool = False


def finish_payment(*, reservation: Reservation, reference: str, data, now=None) -> PaymentResult:
    """Verify the browser's answer with the gateway and hand it to services.settle_payment, the same
    path the gateway's server notification takes (whichever comes first settles; the other finds it
    settled). Refunds (a second payment of a paid hold, a payment after the hold was released) are
    decided there and paid out by a task."""
    gw = gateway()
    if gw is None:
        raise ImproperlyConfigured("no payment gateway")
    outcome = gw.verify(reference=reference, amount=reservation.price, data=data)
    settled = services.settle_payment(reservation_id=reservation.pk, payment_reference=outcome.reference,
                                      paid=outcome.paid, now=now)
    return PaymentResult(settled.state, purchase=settled.purchase, refunded=settled.refund is not None)


# --- "내 상품권" ---------------------------------------------------------------------------------

def entry_description(entry) -> str:
    """What a ledger line was, in words: "구매 충전 (구매 #12)"."""
    label = entry.get_kind_display()
    if entry.purchase_id:
        return _("%(kind)s (구매 #%(id)d)") % {"kind": label, "id": entry.purchase_id}
    return str(label)


def offers_cancel(purchase: Purchase, *, user, now=None) -> bool:
    """Whether to show a cancel button: exactly when the service would accept the cancel."""
    return selectors.cancel_refusal(purchase=purchase, user=user, now=now) is None


def cancel_refusal_text(purchase: Purchase, *, user, now=None) -> str:
    """Why the cancel button is missing, in one sentence ("" when the cancel would be accepted)."""
    code = selectors.cancel_refusal(purchase=purchase, user=user, now=now)
    if code is None:
        return ""
    if code == "not_found":
        return _("누리집에서 산 구매가 아닙니다. 구매한 곳(은행 창구·앱)에 문의해 주세요.")
    return message(code)


def cancel_web_purchase(*, purchase: Purchase, user, now=None) -> bool:
    """services.cancel_purchase, which also orders the refund of the online payment in the same
    transaction. Returns True when this call cancelled it (a repeated submit finds it cancelled)."""
    now = clock.now_or(now)
    # the web cancels only what this account bought on the web, even for a staff account (the
    # selector's "not_found"): staff cancel other purchases in the admin
    if selectors.cancel_refusal(purchase=purchase, user=user, now=now) == "not_found":
        raise refuse("not_found.purchase")
    cancelled = services.cancel_purchase(purchase_id=purchase.pk, actor=user, now=now)
    return cancelled.cancelled_at == now
