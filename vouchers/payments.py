"""Payment gateways for the web purchase (reserve → pay → confirm).

The portal never talks to a card network inside a database transaction: the web page reserves
(`services.reserve_purchase`), sends the citizen to the gateway, and the gateway's answer (return URL
or callback) calls `services.confirm_reservation` or `services.fail_reservation`.

`SandboxPaymentGateway` is a TEST DOUBLE: it takes no money and lets the page decide the outcome
("pay" or "fail" buttons). It is only available when settings.VOUCHERS_SANDBOX_PAYMENTS is true
(default: DEBUG). A real PG (e.g. a Korean card/easy-pay gateway) implements the same interface and
is selected with settings.VOUCHERS_PAYMENT_GATEWAY = "dotted.path.Class".
"""
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
        """Give the money back (payment arrived after the hold was released)."""


class SandboxPaymentGateway(PaymentGateway):
    """샌드박스 결제 — 실제로 돈이 오가지 않습니다. Confirms or fails on demand: the caller passes
    data={"outcome": "paid"} or {"outcome": "failed"}."""

    name = _("샌드박스 결제 (실제 결제 아님)")
    is_sandbox = True

    def start(self, *, reservation, return_url: str) -> PaymentSession:
        return PaymentSession(reference=f"sandbox-{reservation.pk}-{secrets.token_hex(6)}", redirect_url=return_url)

    def verify(self, *, reference: str, amount: int, data: dict) -> PaymentOutcome:
        paid = data.get("outcome") == "paid"
        return PaymentOutcome(reference=reference, paid=paid, message="" if paid else "샌드박스: 결제 실패")

    def refund(self, *, reference: str, amount: int) -> None:
        return None


def sandbox_enabled() -> bool:
    return bool(getattr(settings, "VOUCHERS_SANDBOX_PAYMENTS", settings.DEBUG))


def get_gateway() -> PaymentGateway:
    path = getattr(settings, "VOUCHERS_PAYMENT_GATEWAY", "")
    if path:
        return import_string(path)()
    if sandbox_enabled():
        return SandboxPaymentGateway()
    raise ImproperlyConfigured("No payment gateway: set VOUCHERS_PAYMENT_GATEWAY, or VOUCHERS_SANDBOX_PAYMENTS=True "
                               "for the sandbox (never in production).")
