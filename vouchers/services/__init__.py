"""Writes of the vouchers app, one module per concern; import the public names from here.

Every function is keyword-only, runs in one transaction, takes `actor` (the user or API client who
did it; None for the system) and `now` (so tests and late jobs decide which Seoul month and which
5부제 day it is). A refusal raises a ServiceError with its vouchers.errors code and leaves nothing
written; every state change records a VoucherEvent in the same transaction (services/events.py).

    sales          the partner sale and the sale engine (one statement on PostgreSQL, ORM twin)
    reservations   the web purchase: reserve → pay → confirm/fail, settle, release lapsed holds
    cancellations  cancel a purchase
    wallet         deliver notes or a wallet credit; every balance move with its ledger line
    refunds        money back through the gateway (decided, then paid out by a task)
    issuance       tranches, quotas, closing, plans, the month roll-over
    policy         the purchase-limit policy
    expiry         notes and credits past validity
    citizens       linking a verified identity to a web account
    merchants      merchants (가맹점): register, approve, suspend, cancel, update; their categories
    payments       paying merchants: pay codes (CPM), the shop's QR (MPM), the merchant's refunds
    members        a merchant's own sign-ins: the owner (created by staff) and its cashiers
    exchanges      paper exchange (환전) at the bank counter; the merchant's monthly exchange cap
    balance_refunds the unspent rest of a mostly used purchase back to the citizen (잔액 환불)
    settlements    daily settlement (정산): build a day, the bank transfer file, paid; bank accounts
    fraud          cash-out (깡) signals: the nightly scan, and dismiss / warn / suspend / cancel / fine

The pure rules are vouchers/rules.py, the input cleaners vouchers/inputs.py, the raw SQL vouchers/db/, the lock order vouchers/locks.py.
"""
from jinju_portal.errors import InvalidInput, NotFound, RuleViolation, ServiceError
from vouchers.services.cancellations import cancel_purchase
from vouchers.services.citizens import link_citizen
from vouchers.services.expiry import expire_notes_and_credits
from vouchers.inputs import (clean_birth_year, clean_buyer_ci, clean_buyer_name, clean_channel,
                                      clean_face_value, clean_quota, clean_tranche_id, tranche_medium)
from vouchers.services.issuance import (PLAN_EDITABLE, TRANCHE_EDITABLE, close_tranche, create_plan, create_tranche,
                                        month_rollover, raise_tranche_quota, set_plan_schedule, update_plan,
                                        update_tranche)
from vouchers.services.merchants import (CATEGORY_EDITABLE, MERCHANT_EDITABLE, approve_merchant, cancel_merchant,
                                         create_merchant_category, register_merchant, suspend_merchant,
                                         update_merchant, update_merchant_category)
from vouchers.services.members import add_member, deactivate_member
from vouchers.services.payments import (PaymentIdempotency, PaymentNotSettled, issue_pay_code, pay_merchant,
                                        pay_with_code, refund_merchant_payment, refund_payment_in_full)
from vouchers.services.policy import (POLICY_FIELDS, create_limit_policy, policy_editable, update_limit_policy,
                                      validate_policy)
from vouchers.services.refunds import execute_refund, retry_pending_refunds, retry_refund
from vouchers.services.reservations import (Settlement, confirm_reservation, fail_reservation,
                                            release_lapsed_reservations, reserve_purchase, settle_payment)
from vouchers.services.sales import AlreadyAnswered, PurchaseResult, SaleIdempotency, fast_sql, purchase_vouchers
from vouchers.services.wallet import move_wallet

__all__ = [
    "InvalidInput", "NotFound", "RuleViolation", "ServiceError",
    "cancel_purchase", "link_citizen", "expire_notes_and_credits",
    "clean_birth_year", "clean_buyer_ci", "clean_buyer_name", "clean_channel", "clean_face_value", "clean_quota",
    "clean_tranche_id", "tranche_medium",
    "PLAN_EDITABLE", "TRANCHE_EDITABLE", "POLICY_FIELDS", "create_plan",
    "close_tranche", "create_tranche", "month_rollover", "raise_tranche_quota", "set_plan_schedule", "update_plan",
    "update_tranche",
    "create_limit_policy", "policy_editable", "update_limit_policy", "validate_policy",
    "execute_refund", "retry_pending_refunds", "retry_refund",
    "Settlement", "confirm_reservation", "fail_reservation", "release_lapsed_reservations", "reserve_purchase",
    "settle_payment",
    "AlreadyAnswered", "PurchaseResult", "SaleIdempotency", "fast_sql", "purchase_vouchers",
    "move_wallet",
    "CATEGORY_EDITABLE", "MERCHANT_EDITABLE", "approve_merchant", "cancel_merchant", "create_merchant_category",
    "register_merchant", "suspend_merchant", "update_merchant", "update_merchant_category",
    "PaymentIdempotency", "PaymentNotSettled", "issue_pay_code", "pay_merchant", "pay_with_code",
    "refund_merchant_payment", "refund_payment_in_full",
    "add_member", "deactivate_member",
]

# the city's merchant list (가맹점 명단), imported many rows at once (services/merchants.py)
from vouchers.services.merchants import ImportedRow, import_merchants, preview_merchant_import  # noqa: E402

__all__ += ["ImportedRow", "import_merchants", "preview_merchant_import"]

# paper exchange (환전) at the bank counter and the merchant's monthly exchange cap (issue #9)
from vouchers.services.exchanges import ExchangeResult, exchange_notes, set_exchange_cap  # noqa: E402

__all__ += ["ExchangeResult", "exchange_notes", "set_exchange_cap"]
# balance refunds to citizens (잔액 환불, issue #9)
from vouchers.services.balance_refunds import (BalanceRefund, RefundedPurchase, refund_balance,  # noqa: E402
                                               refund_paper_balance, refund_web_balance)

__all__ += ["BalanceRefund", "RefundedPurchase", "refund_balance", "refund_paper_balance", "refund_web_balance"]
# daily settlement (정산) to the merchants' bank accounts (services/settlements.py)
from vouchers.services.settlements import (BuildResult, TransferFile, build_settlements,  # noqa: E402
                                           mark_settlements_paid, produce_transfer_file,
                                           set_merchant_bank_account)

__all__ += ["BuildResult", "TransferFile", "build_settlements", "mark_settlements_paid", "produce_transfer_file",
            "set_merchant_bank_account"]

# cash-out (상품권 깡) signals: the nightly scan and staff's actions on them (services/fraud.py)
from vouchers.services.fraud import (ScanResult, cancel_signal, dismiss_signal, fine_signal, prior_fines,  # noqa: E402
                                     scan_cash_out, suspend_signal, warn_signal)

__all__ += ["ScanResult", "cancel_signal", "dismiss_signal", "fine_signal", "prior_fines", "scan_cash_out",
            "suspend_signal", "warn_signal"]
