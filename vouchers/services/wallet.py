"""Handing the goods over and moving a wallet: every balance change appends its ledger line with
the balance after it (invariant 3)."""
from vouchers import locks, months, notes, rules, selectors
from vouchers.choices import EntryKind, EventKind, Medium
from vouchers.errors import refuse
from vouchers.models import PaperNote, Wallet, WalletEntry
from vouchers.services.events import record as record_event


def deliver(*, purchase, denoms, serials, now):
    """Paper notes, or a wallet credit with its ledger line."""
    if purchase.medium == Medium.PAPER:
        if not denoms:
            denoms = notes.note_breakdown(purchase.face_value)
            serials = [notes.new_serial() for _ in denoms]
        PaperNote.objects.bulk_create([
            PaperNote(serial=s, denomination=d, purchase=purchase, tranche_id=purchase.tranche_id, issued_at=now,
                      expires_at=rules.expires(now)) for s, d in zip(serials, denoms)])
    else:
        move_wallet(citizen_id=purchase.citizen_id, amount=purchase.face_value, kind=EntryKind.PURCHASE,
                    purchase=purchase, reference=f"purchase:{purchase.pk}", now=now, expires_at=rules.expires(now))


def move_wallet(*, citizen_id, amount, kind, purchase=None, reference="", now, expires_at=None) -> WalletEntry:
    """Change a balance (creating the wallet on first use) and append its ledger line. Takes lock 3
    (vouchers/locks.py): callers hold any usage or tranche lock they need already."""
    wallet, _ = Wallet.objects.get_or_create(citizen_id=citizen_id, defaults={"updated_at": now})
    wallet = locks.wallet_by_pk(wallet.pk)
    return append(wallet, amount=amount, kind=kind, purchase=purchase, reference=reference, now=now,
                  expires_at=expires_at)


def append(wallet: Wallet, *, amount, kind, now, purchase=None, payment=None, reference="",
           expires_at=None) -> WalletEntry:
    """Move a wallet the caller has locked (lock 3), in place, with its ledger line."""
    if wallet.balance + amount < 0:
        raise refuse("insufficient_balance")
    wallet.balance += amount
    wallet.updated_at = now
    wallet.save(update_fields=["balance", "updated_at"])
    return WalletEntry.objects.create(wallet=wallet, amount=amount, balance_after=wallet.balance, kind=kind,
                                      purchase=purchase, payment=payment, reference=reference, created_at=now,
                                      expires_at=expires_at)


def expire_held_credit(wallet: Wallet, *, now) -> int:
    """Under the wallet lock: debit what is left of its credits past validity (credits are spent
    oldest first, rules.credit_spent) as an expiry line, with its event, and return it (0 if none).
    The daily job calls this for every wallet with an expired credit; a payment calls it first when
    its wallet has one, so money spent after a credit expired is never counted against that credit."""
    position = selectors.credit_position(wallet_id=wallet.pk, now=now)
    due = min(wallet.balance, max(position.expired_credit - position.consumed, 0))
    if due > 0:
        before = wallet.balance
        append(wallet, amount=-due, kind=EntryKind.EXPIRY, now=now,
               reference=f"expiry:{months.seoul(now).date().isoformat()}")
        record_event(EventKind.CREDIT_EXPIRED, now=now, citizen_id=wallet.citizen_id,
                     before={"balance": before}, after={"balance": wallet.balance, "expired": due})
    return due
