"""The lock order of vouchers, written down once (as Saleor's giftcard/lock_objects.py).

Every transaction that takes more than one of these row locks takes them in this order:

    1. the buyer's month usage   (MonthlyUsage, per citizen and month: uncontended)
    2. the tranche               (Tranche: the hot row under a rush)
    3. the buyer's wallet        (Wallet, per citizen)

and several rows of one kind in primary-key order. After the wallet come the rows of its own
payments (services/payments.py): its pay code (spent by a conditional UPDATE) or a payment being
refunded. The wallet is always locked first, by its id read beforehand without a lock, so an issuer
voiding a code and a till spending it, or a refund and a payment of one wallet, queue on the
wallet and never cross. The one-statement sale (vouchers/db/sql.py)
follows the same order inside its CTEs (u → t → w). Taking the tranche before a usage row would
deadlock against a concurrent sale, which holds its usage row while it waits for the tranche.

Merchants' own changes (services/merchants.py) lock the merchant, then its category (so a category
made excluded while a clerk approves one of its merchants is seen by one or the other); a category
change locks the category alone. Adding or switching off a merchant's account (services/members.py)
locks the merchant, then the member row. Neither is taken together with the three above.

An action on a cash-out signal (services/fraud.py) locks the signal, then its merchant (the merchant
services' own lock, or the fine's count of earlier fines); the scan takes an advisory lock of its own
and locks no signal row (its upsert skips decided ones).
"""
from vouchers.models import Merchant, MerchantCategory, MonthlyUsage, Payment, Tranche, Wallet

ORDER = ("usage", "tranche", "wallet")


def usage(*, citizen_id, month):
    """Lock 1: the buyer's usage row of `month` (None if the buyer has none)."""
    return MonthlyUsage.objects.select_for_update().filter(citizen_id=citizen_id, month=month).first()


def usage_by_pk(pk):
    return MonthlyUsage.objects.select_for_update().get(pk=pk)


def tranche(tranche_id):
    """Lock 2: the tranche row (None if there is none)."""
    return Tranche.objects.select_for_update().filter(pk=tranche_id).first()


def wallet(*, citizen_id):
    """Lock 3: the buyer's wallet (None if the buyer has none yet)."""
    return Wallet.objects.select_for_update().filter(citizen_id=citizen_id).first()


def wallet_by_pk(pk):
    return Wallet.objects.select_for_update().get(pk=pk)


def merchant(merchant_id):
    """A merchant row (None if there is none); then, if needed, its category."""
    return Merchant.objects.select_for_update().filter(pk=merchant_id).first()


def merchants_by_business_number(numbers) -> dict:
    """Several merchants at once (the merchant-list import), by business number, locked in
    primary-key order; their categories are read, not locked. Numbers not registered are absent."""
    rows = (Merchant.objects.select_for_update(of=("self",)).select_related("category")
            .filter(business_number__in=list(numbers)).order_by("pk"))
    return {m.business_number: m for m in rows}


def category(category_id):
    return MerchantCategory.objects.select_for_update().filter(pk=category_id).first()


def payment(payment_id):
    """After lock 3 (the payment's wallet): the payment row (refunds)."""
    return Payment.objects.select_for_update().select_related("merchant").filter(pk=payment_id).first()
