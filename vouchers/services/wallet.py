"""Handing the goods over and moving a wallet: every balance change appends its ledger line with
the balance after it (invariant 3)."""
from vouchers import locks, notes, rules
from vouchers.choices import EntryKind, Medium
from vouchers.errors import refuse
from vouchers.models import PaperNote, Wallet, WalletEntry


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
    if wallet.balance + amount < 0:
        raise refuse("insufficient_balance")
    wallet.balance += amount
    wallet.updated_at = now
    wallet.save(update_fields=["balance", "updated_at"])
    return WalletEntry.objects.create(wallet=wallet, amount=amount, balance_after=wallet.balance, kind=kind,
                                      purchase=purchase, reference=reference, created_at=now, expires_at=expires_at)
