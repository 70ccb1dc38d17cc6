"""Page-level orchestration of the citizen pages: what to show, and the payment round trip.

No business rule lives here: every decision (may this citizen buy, is the hold still there, may this
purchase be cancelled) is the services'; this module gathers what a page shows, turns refusal codes
into Korean sentences, and drives the gateway → services hand-over of a web payment.
"""
import datetime as dt
import logging
import secrets
from dataclasses import dataclass

import segno
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from jinju_portal import clock
from jinju_portal.errors import ServiceError
from jinju_portal.money import format_krw
from vouchers import inputs, months, payments, rules, selectors, services
from vouchers.choices import PayCodeStatus, ReservationStatus
from vouchers.errors import message, refuse
from vouchers.models import Merchant, PayCode, Payment, Purchase, Reservation, Tranche

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


# --- paying a shop with the mobile wallet ----------------------------------------------------------

QR_SCALE = 6  # px per module before CSS scales the drawing to the screen (viewBox, no fixed size)
PAID_SHOWN_FOR = dt.timedelta(minutes=10)  # how long the pay-code page still says "결제되었습니다"


def pay_code_qr_svg(token: str) -> str:
    """The pay code's QR as inline SVG, drawn on the server (no script, no image request). Error
    correction M survives a cracked phone screen; the drawing has a <title> for screen readers."""
    qr = segno.make(token, error="m")
    return mark_safe(qr.svg_inline(scale=QR_SCALE, border=4, omitsize=True, svgclass="vw-qr-svg",
                                   title=_("결제 QR 코드")))  # segno escapes the title; the rest is a path


def grouped_short_code(short_code: str) -> str:
    """"123456" -> "123 456", as a cashier reads it out."""
    return f"{short_code[:3]} {short_code[3:]}"


def pay_code_state(code: PayCode, *, now) -> str:
    """active | used | voided | expired, as the citizen's page shows it (a code is spendable while
    active and before expires_at, as services.pay_with_code asks)."""
    if code.status == PayCodeStatus.ACTIVE:
        return "active" if code.expires_at > now else "expired"
    if code.status == PayCodeStatus.LAPSED:
        return "expired"
    return code.status


def paid_text(payment: Payment) -> str:
    return _("결제되었습니다 %(amount)s · %(shop)s") % {"amount": format_krw(payment.amount),
                                                  "shop": payment.merchant.name}


@dataclass
class PayCodeCard:
    """What the 결제하기 page shows of the account's last pay code."""
    code: PayCode
    state: str
    seconds_left: int
    short_code: str
    qr_svg: str = ""  # only while the code can pay
    payment: Payment | None = None
    paid_text: str = ""


def pay_code_card(code: PayCode | None, *, now) -> PayCodeCard | None:
    """The live code with its QR, or the code's payment if it paid in the last minutes; otherwise
    None (the page offers a button: a GET never issues a code, a reload never voids one)."""
    if code is None:
        return None
    state = pay_code_state(code, now=now)
    if state == "active":
        return PayCodeCard(code=code, state=state, seconds_left=int((code.expires_at - now).total_seconds()),
                           short_code=grouped_short_code(code.short_code), qr_svg=pay_code_qr_svg(code.token))
    payment = getattr(code, "payment", None) if state == "used" else None
    if payment is not None and now - payment.created_at <= PAID_SHOWN_FOR:
        return PayCodeCard(code=code, state=state, seconds_left=0, short_code="", payment=payment,
                           paid_text=paid_text(payment))
    return None


def pay_code_status(code: PayCode, *, citizen, now) -> dict:
    """The JSON the 결제하기 page polls: the code's state and, once it paid, what and where, with the
    wallet's new spendable balance."""
    state = pay_code_state(code, now=now)
    body = {"state": state, "seconds_left": max(0, int((code.expires_at - now).total_seconds()))}
    payment = getattr(code, "payment", None) if state == "used" else None
    if payment is not None:
        spendable = selectors.wallet_statement(citizen=citizen, limit=0, now=now)["spendable"]
        body.update(amount=payment.amount, merchant=payment.merchant.name, paid_text=paid_text(payment),
                    spendable=spendable, spendable_text=format_krw(spendable),
                    receipt_url=reverse("vouchers:payment", args=[payment.pk]))
    return body


def merchant_for_page(text: str) -> Merchant | None:
    """The shop a poster's QR names (its code, as people type it), or None for anything else."""
    try:
        code = inputs.clean_merchant_code(text)
    except ServiceError:
        return None
    return Merchant.objects.select_related("category").filter(code=code).first()


def merchant_refusal_text(merchant: Merchant) -> str:
    """Why this shop cannot take the wallet now ("" if it can): the services' own rule and sentence."""
    refusal = rules.payment_refusal(merchant_status=merchant.status, accepts_mobile=merchant.accepts_mobile)
    return message(refusal) if refusal else ""


# The confirm form carries a signed ticket: who pays which shop how much, and a one-time key. The
# amount shown on the confirm page is the amount paid; sent twice, the key pays once (pay_at_merchant).
TICKET_SALT = "vouchers.merchant-payment"
TICKET_AGE = dt.timedelta(minutes=10)
KEY_PREFIX = "web-"


@dataclass(frozen=True)
class PayTicket:
    amount: int
    key: str
    issued_at: int  # epoch seconds


def new_pay_ticket(*, user, merchant: Merchant, amount: int, now=None) -> str:
    now = clock.now_or(now)
    return signing.dumps({"u": user.pk, "m": merchant.code, "a": amount,
                          "k": KEY_PREFIX + secrets.token_urlsafe(18), "t": int(now.timestamp())}, salt=TICKET_SALT)


def read_pay_ticket(text: str, *, user, merchant: Merchant) -> PayTicket | None:
    """The ticket's contents if this server signed it for this account and shop, else None. Its age
    is checked by the caller: a late resubmit of a form that already paid still finds its payment."""
    if not isinstance(text, str) or not 0 < len(text) <= 500:
        return None
    try:
        data = signing.loads(text, salt=TICKET_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk or data.get("m") != merchant.code:
        return None
    amount, key, issued = data.get("a"), data.get("k"), data.get("t")
    if not (isinstance(amount, int) and isinstance(key, str) and key.startswith(KEY_PREFIX) and isinstance(issued, int)):
        return None
    return PayTicket(amount=amount, key=key, issued_at=issued)


class TicketExpired(Exception):
    """The confirm form waited too long: the citizen enters the amount again."""


UNIQUE_WEB_KEY = "payment_user_idempotency_key_unique"


def _violated(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def pay_at_merchant(*, merchant: Merchant, citizen, user, ticket: PayTicket, now=None) -> tuple[Payment, bool]:
    """services.pay_merchant once per confirm form. Returns (payment, replayed): a form sent again —
    a double tap, back and resubmit, or two requests at the same instant — answers with the payment
    the first one made. Two at once queue on the wallet lock; the second's insert then meets
    UNIQUE (user, idempotency_key) and rolls back whole, or the service refuses it for the balance
    the first one spent: either way it finds the first one's payment here."""
    now = clock.now_or(now)
    earlier = selectors.web_payment(user=user, idempotency_key=ticket.key)
    if earlier is not None:
        return earlier, True
    if now.timestamp() - ticket.issued_at > TICKET_AGE.total_seconds():
        raise TicketExpired
    try:
        return services.pay_merchant(merchant_code=merchant.code, citizen_id=citizen.pk, amount=ticket.amount,
                                     actor=user, idempotency_key=ticket.key, now=now), False
    except IntegrityError as exc:
        if _violated(exc) != UNIQUE_WEB_KEY:
            raise
    except ServiceError:
        earlier = selectors.web_payment(user=user, idempotency_key=ticket.key)
        if earlier is None:
            raise
        return earlier, True
    return selectors.web_payment(user=user, idempotency_key=ticket.key), True


# --- 잔액 환불: the unspent rest of a mostly used purchase back to the card ------------------------------

REFUND_TICKET_SALT = "vouchers.balance-refund"


@dataclass(frozen=True)
class RefundRow:
    """One purchase on the 잔액 환불 page, as the rule sees it now."""
    line: selectors.BalanceLine
    used_percent: str  # "62.5"
    ratio_percent: str  # "60", that of the purchase's own month
    refundable_here: bool  # eligible and paid online: refunded from this page
    note: str  # why not, or where instead ("" when refundable here)


def _percent_text(value) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def balance_refund_page(*, citizen, now=None) -> dict:
    """What the 잔액 환불 page shows: one row per purchase with something left, the totals that would
    go back from here, the refusal sentence when nothing would (the services' own words)."""
    now = clock.now_or(now)
    preview = selectors.balance_refund_preview(citizen=citizen, now=now, web_only=True)
    rows = []
    for line in preview["lines"]:
        ratio = selectors.refund_ratio_for_month(line.purchase.month)
        here = line in preview["refundable"]
        if here:
            note = ""
        elif line.figures.refusal is None:
            note = _("은행 창구나 구매한 앱에서 환불받을 수 있습니다.")
        else:
            note = _("아직 %(ratio)s%%를 쓰지 않았습니다.") % {"ratio": percent_text(ratio)}
        rows.append(RefundRow(line=line, used_percent=_percent_text(line.figures.used_percent),
                              ratio_percent=percent_text(ratio), refundable_here=here, note=note))
    refusal = preview["refusal"]
    if refusal is None:
        refusal_text = ""
    elif refusal == "refund_threshold_not_met":
        refusal_text = message("refund_threshold_not_met.web", ratio=percent_text(preview["ratio"]))
    else:
        refusal_text = message(refusal)
    return {"rows": rows, "face_value_returned": preview["face_value_returned"],
            "amount_paid_back": preview["amount_paid_back"], "ratio_percent": percent_text(preview["ratio"]),
            "refusal_text": refusal_text}


def offers_balance_refund(*, citizen, now=None) -> bool:
    """Whether 내 상품권 shows the 잔액 환불 button: some purchase would go back from the page now."""
    return bool(selectors.balance_refund_preview(citizen=citizen, now=now, web_only=True)["refundable"])


def new_refund_ticket(*, user, now=None) -> str:
    """The confirm form's signed one-time key: sent twice, it refunds once (refund_once)."""
    now = clock.now_or(now)
    return signing.dumps({"u": user.pk, "k": KEY_PREFIX + "refund-" + secrets.token_urlsafe(18),
                          "t": int(now.timestamp())}, salt=REFUND_TICKET_SALT)


def read_refund_ticket(text, *, user) -> PayTicket | None:
    if not isinstance(text, str) or not 0 < len(text) <= 500:
        return None
    try:
        data = signing.loads(text, salt=REFUND_TICKET_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk:
        return None
    key, issued = data.get("k"), data.get("t")
    if not (isinstance(key, str) and key.startswith(KEY_PREFIX) and isinstance(issued, int)):
        return None
    return PayTicket(amount=0, key=key, issued_at=issued)


def refund_once(*, citizen, user, ticket: PayTicket, now=None) -> tuple[list, bool]:
    """services.refund_web_balance once per confirm form. Returns (refund rows, replayed): a form sent
    again — a double tap, back and resubmit, two requests at once — finds the rows the first made
    (the second queues on the wallet lock, then finds nothing left and is answered with them)."""
    now = clock.now_or(now)
    earlier = selectors.web_balance_refunds(user=user, idempotency_key=ticket.key)
    if earlier:
        return earlier, True
    if now.timestamp() - ticket.issued_at > TICKET_AGE.total_seconds():
        raise TicketExpired
    try:
        services.refund_web_balance(citizen_id=citizen.pk, actor=user, idempotency_key=ticket.key, now=now)
    except ServiceError:
        earlier = selectors.web_balance_refunds(user=user, idempotency_key=ticket.key)
        if not earlier:
            raise
        return earlier, True
    return selectors.web_balance_refunds(user=user, idempotency_key=ticket.key), False
