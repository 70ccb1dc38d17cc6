"""The daily expiry of paper notes and wallet credits past their 5-year validity."""
from django.db import transaction

from jinju_portal import clock
from vouchers import locks
from vouchers.choices import EntryKind, EventKind, NoteStatus
from vouchers.models import PaperNote, WalletEntry
from vouchers.services import events
from vouchers.services.wallet import expire_held_credit


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
            debited += expire_held_credit(locks.wallet_by_pk(wallet_id), now=now)
    return {"notes_expired": notes_expired, "credit_expired": debited}
