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

Paper notes come last whoever locks them, several in primary-key order:
- an exchange (services/exchanges.py) locks the merchant (FOR NO KEY UPDATE: its month's exchanges
  and cap are decided under it, while payments inserting rows that point at the merchant, which take
  FOR KEY SHARE, never wait for it), then the notes it may pay. Locking the merchant row rather than
  claiming a per-merchant-month counter row (INSERT … ON CONFLICT, conditional UPDATE): a merchant
  exchanges a few times a day at most, so its row is never hot; the lock also orders the exchange
  after a clerk's suspend or cap change of the same merchant (which lock it FOR UPDATE), so the
  status, the cap and the month's sum are read together; and "accept in the order given until the
  cap is reached" needs the sum before deciding, which a conditional UPDATE cannot give. The notes
  it locks are only those still issued and within validity: the daily expiry's UPDATE touches only
  the others, so the two never wait on each other.
- a cancel locks its purchase, then the usage, tranche (and wallet, mobile), then the purchase's
  notes, so a cancel and an exchange of one of its notes queue on that note: one of them wins.
A paper balance refund (services/balance_refunds.py) locks the notes handed in, in primary-key
order, and nothing else; an exchange of the same notes takes them in the same order, so the two
queue and the second sees the first's status.
An action on a cash-out signal (services/fraud.py) locks the signal, then its merchant (the merchant
services' own lock, or the fine's count of earlier fines); the scan takes an advisory lock of its own
and locks no signal row (its upsert skips decided ones).
"""
from vouchers.models import Merchant, MerchantCategory, MonthlyUsage, PaperNote, Payment, Tranche, Wallet

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


def merchant_for_exchange(business_number):
    """An exchange's merchant (None if unknown), FOR NO KEY UPDATE: exchanges of one merchant queue
    here; its payments do not."""
    return Merchant.objects.select_for_update(no_key=True).filter(business_number=business_number).first()


def notes(note_ids) -> dict:
    """Paper notes by id, locked in primary-key order (after any other lock of the transaction)."""
    rows = PaperNote.objects.select_for_update().filter(pk__in=list(note_ids)).order_by("pk")
    return {note.pk: note for note in rows}


def notes_of_purchase(purchase_id) -> list:
    """A purchase's notes, locked in primary-key order (a cancel, after its other locks)."""
    return list(PaperNote.objects.select_for_update().filter(purchase_id=purchase_id).order_by("pk"))
def notes_by_serial(serials) -> dict:
    """Paper notes by serial, locked in primary-key order, with their purchase (and its tranche)
    read, not locked. Serials that are not ours are absent."""
    rows = (PaperNote.objects.select_for_update(of=("self",)).select_related("purchase__tranche")
            .filter(serial__in=list(serials)).order_by("pk"))
    return {n.serial: n for n in rows}
