"""Payment gateways for the web purchase (reserve → pay → confirm), and their refunds.

The portal never talks to a card network inside a database transaction: the web page reserves
(`services.reserve_purchase`), sends the citizen to the gateway, and the gateway's answer — the
browser's return (`verify`) or the gateway's server-to-server notification (`parse_notification`) —
goes to `services.settle_payment`, which confirms or fails the hold once whichever arrives first.
Money to give back is a `PaymentRefund` row decided inside the services' transaction and paid out by
the `vouchers.tasks.refund_payment` task through `refund` (retried; refunds must be idempotent per
reference at the gateway, as PG cancel APIs keyed by the payment are).

`SandboxPaymentGateway` is a TEST DOUBLE: it takes no money and lets the page decide the outcome
("pay" or "fail" buttons). It is only available when settings.VOUCHERS_SANDBOX_PAYMENTS is true
(default: DEBUG). A real PG (e.g. a Korean card/easy-pay gateway) implements the same interface and
is selected with settings.VOUCHERS_PAYMENT_GATEWAY = "dotted.path.Class".
"""
import hashlib
import hmac
import json
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class PaymentSession:
    reference: str  # the gateway's id for this payment; stored on the reservation when confirmed
    redirect_url: str  # where to send the citizen to pay ("" when the page handles it itself)


@dataclass(frozen=True)
class PaymentOutcome:
    reference: str
    paid: bool
    message: str = ""
    reservation_id: int | None = None  # known from a notification (the merchant's order id)
    amount: int | None = None  # won the gateway says it took, when it says so


class GatewayError(Exception):
    """The gateway could not do what was asked (network, refusal); the caller may try again later."""


class InvalidNotification(Exception):
    """A notification that is signed but cannot be read (malformed body); `code` goes to the caller."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class PaymentGateway(ABC):
    name: str = ""
    is_sandbox: bool = False

    @abstractmethod
    def start(self, *, reservation, return_url: str) -> PaymentSession:
        """Open a payment of reservation.price won; no database writes here."""

    @abstractmethod
    def verify(self, *, reference: str, amount: int, data: dict) -> PaymentOutcome:
        """Check the gateway's answer for `reference` (signature, amount) before confirming."""

    @abstractmethod
    def refund(self, *, reference: str, amount: int) -> None:
        """Give the money back (a cancel, or a payment that arrived after its hold was released).
        Raise GatewayError when it did not happen; it is retried, so it must be idempotent."""

    @abstractmethod
    def parse_notification(self, request) -> PaymentOutcome | None:
        """The gateway's server-to-server notification: None when its signature does not verify,
        InvalidNotification when it is signed but unreadable, else the outcome (with reservation_id)."""


SANDBOX_SIGNATURE_HEADER = "X-Sandbox-Signature"
# Sandbox refunds of a reference containing this marker fail (GatewayError) — for tests and
# staging rehearsals of the refund retry path. Every other sandbox refund succeeds.
SANDBOX_REFUND_FAILS_MARKER = "refund-fails"


def sandbox_notify_key() -> bytes:
    """settings.VOUCHERS_SANDBOX_NOTIFY_KEY, else a key derived from SECRET_KEY (never SECRET_KEY itself)."""
    key = settings.VOUCHERS_SANDBOX_NOTIFY_KEY
    if key:
        return key.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"vouchers.sandbox.notify", hashlib.sha256).digest()


def sandbox_sign(body: bytes) -> str:
    return hmac.new(sandbox_notify_key(), body, hashlib.sha256).hexdigest()


def sandbox_notification(*, reservation_id: int, reference: str, outcome: str, amount: int) -> tuple[bytes, str]:
    """(body, signature) of a sandbox notification, as the sandbox "PG" would POST it."""
    body = json.dumps({"reservation": reservation_id, "reference": reference, "outcome": outcome,
                       "amount": amount}).encode()
    return body, sandbox_sign(body)


class SandboxPaymentGateway(PaymentGateway):
    """샌드박스 결제 — 실제로 돈이 오가지 않습니다. Confirms or fails on demand: the caller passes
    data={"outcome": "paid"} or {"outcome": "failed"}.

    Notifications: POST of JSON {"reservation": id, "reference": "...", "outcome": "paid"|"failed",
    "amount": won} with header X-Sandbox-Signature = hex HMAC-SHA256(body, sandbox_notify_key()).
    Refunds fail on demand for references containing SANDBOX_REFUND_FAILS_MARKER."""

    name = _("샌드박스 결제 (실제 결제 아님)")
    is_sandbox = True

    def start(self, *, reservation, return_url: str) -> PaymentSession:
        return PaymentSession(reference=f"sandbox-{reservation.pk}-{secrets.token_hex(6)}", redirect_url=return_url)

    def verify(self, *, reference: str, amount: int, data: dict) -> PaymentOutcome:
        paid = data.get("outcome") == "paid"
        return PaymentOutcome(reference=reference, paid=paid, message="" if paid else "샌드박스: 결제 실패")

    def refund(self, *, reference: str, amount: int) -> None:
        if SANDBOX_REFUND_FAILS_MARKER in reference:
            raise GatewayError(f"sandbox: refund of {reference} refused on demand")
        return None

    def parse_notification(self, request) -> PaymentOutcome | None:
        body = request.body
        given = request.headers.get(SANDBOX_SIGNATURE_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), sandbox_sign(body).encode()):
            return None
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidNotification("malformed_notification", "body is not UTF-8 JSON") from None
        if not isinstance(data, dict):
            raise InvalidNotification("malformed_notification", "body is not a JSON object")
        reservation_id, reference = data.get("reservation"), data.get("reference")
        outcome, amount = data.get("outcome"), data.get("amount")
        if (isinstance(reservation_id, bool) or not isinstance(reservation_id, int) or not 0 < reservation_id < 2**63
                or not isinstance(reference, str) or not 0 < len(reference) <= 100
                or outcome not in ("paid", "failed")
                or isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < 2**63):
            raise InvalidNotification("malformed_notification",
                                      "expected reservation (id), reference, outcome (paid|failed), amount (won)")
        if not reference.startswith(f"sandbox-{reservation_id}-"):  # the sandbox's references name their hold
            raise InvalidNotification("unknown_reference", "reference does not belong to that reservation")
        return PaymentOutcome(reference=reference, paid=outcome == "paid", reservation_id=reservation_id,
                              amount=amount, message="" if outcome == "paid" else "샌드박스: 결제 실패")


def sandbox_enabled() -> bool:
    sandbox = settings.VOUCHERS_SANDBOX_PAYMENTS
    return bool(settings.DEBUG if sandbox is None else sandbox)


def get_gateway() -> PaymentGateway:
    path = settings.VOUCHERS_PAYMENT_GATEWAY
    if path:
        return import_string(path)()
    if sandbox_enabled():
        return SandboxPaymentGateway()
    raise ImproperlyConfigured("No payment gateway: set VOUCHERS_PAYMENT_GATEWAY, or VOUCHERS_SANDBOX_PAYMENTS=True "
                               "for the sandbox (never in production).")
