"""The daily expiry of paper notes and wallet credits past their 5-year validity."""
from django.db import transaction
from django.db.models import Sum

from jinju_portal import clock
from vouchers import locks, months
from vouchers.choices import EntryKind, EventKind, NoteStatus, PurchaseStatus
from vouchers.models import PaperNote, WalletEntry
from vouchers.services import events
from vouchers.services.wallet import move_wallet


def expire_notes_and_credits(*, now=None) -> dict:
    """Daily: paper notes and wallet credits past their 5-year validity expire. A credit's unspent
    part is found first-in-first-out (spending uses the oldest credit first); the expiry debit is a
    ledger line, so a second run finds nothing left to expire. One short transaction per wallet."""
    now = clock.now_or(now)
    with transaction.atomic():
        notes_expired = (PaperNote.objects.filter(status=NoteStatus.ISSUED, expires_at__lte=now)
                         .update(status=NoteStatus.EXPIRED, status_changed_at=now))
        if notes_expired:  # one event for the run: the notes themselves carry status_changed_at
            events.record(EventKind.NOTES_EXPIRED, now=now, before={"status": NoteStatus.ISSUED},
                          after={"status": NoteStatus.EXPIRED, "notes": notes_expired})
    debited = 0
    wallet_ids = (WalletEntry.objects.filter(kind=EntryKind.PURCHASE, expires_at__lte=now)
                  .values_list("wallet_id", flat=True).distinct().order_by("wallet_id"))
    for wallet_id in wallet_ids:
        with transaction.atomic():
            wallet = locks.wallet_by_pk(wallet_id)
            entries = wallet.entries.exclude(purchase__status=PurchaseStatus.CANCELLED, kind__in=[
                EntryKind.PURCHASE, EntryKind.CANCEL])
            expired_credit = entries.filter(kind=EntryKind.PURCHASE, expires_at__lte=now).aggregate(
                s=Sum("amount", default=0))["s"]
            spent = -entries.filter(amount__lt=0).exclude(kind=EntryKind.CANCEL).aggregate(
                s=Sum("amount", default=0))["s"]
            refunded = entries.filter(kind=EntryKind.REFUND).aggregate(s=Sum("amount", default=0))["s"]
            due = min(wallet.balance, max(expired_credit - (spent - refunded), 0))
            if due > 0:
                entry = move_wallet(citizen_id=wallet.citizen_id, amount=-due, kind=EntryKind.EXPIRY,
                                    reference=f"expiry:{months.seoul(now).date().isoformat()}", now=now)
                events.record(EventKind.CREDIT_EXPIRED, now=now, citizen_id=wallet.citizen_id,
                              before={"balance": wallet.balance}, after={"balance": entry.balance_after,
                                                                         "expired": due})
                debited += due
    return {"notes_expired": notes_expired, "credit_expired": debited}
