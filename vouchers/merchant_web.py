"""Page-level orchestration of the merchant's own pages (가맹점 페이지), as vouchers/web.py is for
the citizen pages: what a page shows, and the one-time form nonce that makes a double submit take
one payment or one refund.

No business rule lives here: the services decide (pay_with_code, refund_merchant_payment, the
member services) and the database holds the nonce unique per account (migration 0011: partial
unique indexes on (user, idempotency_key)). A second submit of the same form finds the first one's
row by its nonce and shows it, whether it arrives after the first committed or raced it.
"""
import re
import secrets
from dataclasses import dataclass

from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _

from jinju_portal import clock
from jinju_portal.errors import ServiceError
from jinju_portal.money import format_krw
from vouchers import rules, services
from vouchers.choices import MemberRole, PaymentMethod
from vouchers.errors import message
from vouchers.models import MerchantRefund, Payment

PAY_NONCE_PREFIX = "merchant-pay:"
REFUND_NONCE_PREFIX = "merchant-refund:"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_APPROVAL = re.compile(r"^\d{1,10}$")
_APPROVAL_NOISE = re.compile(r"[\s-]")

# How the merchant's page names the two ways a citizen pays (shorter than the admin's labels).
METHOD_LABELS = {PaymentMethod.PAY_CODE: _("QR 제시"), PaymentMethod.MERCHANT_QR: _("QR 스캔")}


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method))


def is_owner(member) -> bool:
    return member is not None and member.active and member.role == MemberRole.OWNER


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def valid_nonce(value) -> bool:
    return isinstance(value, str) and _NONCE.match(value) is not None


def parse_approval_number(text) -> int | None:
    """"0000000042", "42", "00000 00042" -> 42; anything else (empty, letters, 11 digits) -> None."""
    digits = _APPROVAL_NOISE.sub("", text or "")
    if not _APPROVAL.match(digits) or int(digits) == 0:
        return None
    return int(digits)


def normalise_pay_code(text: str) -> str:
    """What a scanner or a cashier typed: the QR value as it is, or the 6 digits with any spaces or
    hyphens a person put between them ("123 456"). A QR value keeps its own '-' characters."""
    text = (text or "").strip()
    compact = _APPROVAL_NOISE.sub("", text)
    return compact if len(compact) == rules.SHORT_CODE_DIGITS and compact.isascii() and compact.isdigit() else text


@dataclass(frozen=True)
class Taken:
    payment: Payment
    replayed: bool  # the same form was sent before: this is the first submit's payment


def _payment_by_nonce(user, key) -> Payment | None:
    return Payment.objects.filter(user=user, idempotency_key=key).first()


def take_payment(*, member, user, pay_code: str, amount: int, nonce: str, now=None) -> Taken:
    """CPM at the counter: services.pay_with_code for the member's merchant, once per form nonce."""
    key = PAY_NONCE_PREFIX + nonce
    if (earlier := _payment_by_nonce(user, key)) is not None:
        return Taken(earlier, True)
    try:
        payment = services.pay_with_code(pay_code=pay_code, amount=amount, actor=user,
                                         merchant_id=member.merchant_id, idempotency_key=key, now=now)
    except IntegrityError:  # its twin committed the same nonce while this one was paying: rolled back
        if (earlier := _payment_by_nonce(user, key)) is not None:
            return Taken(earlier, True)
        raise
    except ServiceError:  # the twin spent the pay code first ("already used"): show the twin's payment
        if (earlier := _payment_by_nonce(user, key)) is not None:
            return Taken(earlier, True)
        raise
    return Taken(payment, False)


@dataclass(frozen=True)
class Refunded:
    payment: Payment
    amount: int
    replayed: bool


def _refund_by_nonce(user, key) -> MerchantRefund | None:
    return MerchantRefund.objects.filter(user=user, idempotency_key=key).select_related("payment").first()


def refund(*, user, payment_id: int, amount: int, nonce: str, now=None) -> Refunded:
    """The owner's refund: services.refund_merchant_payment, once per form nonce."""
    key = REFUND_NONCE_PREFIX + nonce
    if (earlier := _refund_by_nonce(user, key)) is not None:
        return Refunded(earlier.payment, earlier.amount, True)
    try:
        payment = services.refund_merchant_payment(payment_id=payment_id, amount=amount, actor=user,
                                                   idempotency_key=key, now=now)
    except (IntegrityError, ServiceError):
        # the twin refunded first: this one was rolled back (the nonce) or found too little left
        if (earlier := _refund_by_nonce(user, key)) is not None:
            return Refunded(earlier.payment, earlier.amount, True)
        raise
    return Refunded(payment, amount, False)


def refund_refusal_text(payment: Payment, amount: int, *, now=None) -> str:
    """What the refund service would say about `amount` now ("" if it would refund), so the
    confirmation step is offered only for a refund that can go through. The rule is rules.py's."""
    refusal = rules.refund_refusal(paid_at=payment.created_at, amount=payment.amount, refunded=payment.refunded,
                                   x=amount, now=clock.now_or(now))
    if refusal is None:
        return ""
    return message(refusal, left=format_krw(payment.amount - payment.refunded))
