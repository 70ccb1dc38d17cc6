"""Cancelling a purchase: within 7 days and only if nothing of it was used (vouchers.rules): no
paper note exchanged, and none of a mobile credit spent (credits are spent oldest first, so a
newer purchase stays cancellable while an older one is being spent)."""
from django.db import transaction
from django.db.models import F

from jinju_portal import actors, clock
from vouchers import locks, months, rules, selectors
from vouchers.choices import EntryKind, EventKind, Medium, NoteStatus, PurchaseStatus, RefundReason
from vouchers.errors import refuse
from vouchers.models import MonthlyUsage, Purchase, Reservation, Tranche
from vouchers.services import events
from vouchers.services.refunds import order_refund
from vouchers.services.wallet import move_wallet


def give_back(*, citizen_id, month, tranche_id, medium, x, now):
    """Return quota and month usage (the caller holds lock 1, or takes locks in order: usage first)."""
    moved = {"purchased": F("purchased") - x, "updated_at": now}
    column = "paper_purchased" if medium == Medium.PAPER else "mobile_purchased"
    moved[column] = F(column) - x
    MonthlyUsage.objects.filter(citizen_id=citizen_id, month=month).update(**moved)
    Tranche.objects.filter(pk=tranche_id).update(sold=F("sold") - x)


def may_act_on(purchase, actor) -> bool:
    """The selling client, the buying web user, or city staff; anyone else is told 404."""
    if actors.is_staff(actor):
        return True
    client, user = actors.client_of(actor), actors.user_of(actor)
    if client is not None:
        return purchase.api_client_id == client.pk
    return user is not None and purchase.user_id == user.pk


@transaction.atomic
def cancel_purchase(*, purchase_id, actor, now=None) -> Purchase:
    """Cancel within 7 days if nothing of it was used: give back quota and month usage, cancel the
    notes or debit the wallet (with a ledger line), order the refund of an online payment, and
    record the event. Cancelling a cancelled purchase changes nothing."""
    now = clock.now_or(now)
    purchase = Purchase.objects.select_for_update().filter(pk=purchase_id).first()
    if purchase is None or not may_act_on(purchase, actor):
        raise refuse("not_found.purchase")
    if purchase.status == PurchaseStatus.CANCELLED:
        return purchase
    # the locks in the app's order (vouchers/locks.py), then the rule on what they show
    locks.usage(citizen_id=purchase.citizen_id, month=purchase.month)
    locks.tranche(purchase.tranche_id)
    wallet = locks.wallet(citizen_id=purchase.citizen_id) if purchase.medium == Medium.MOBILE else None
    # paper: the notes locked before they are looked at, so an exchange of one of them at this moment
    # either finishes first (and the cancel sees it used) or waits and finds it cancelled
    notes = locks.notes_of_purchase(purchase.pk) if purchase.medium == Medium.PAPER else []
    notes_used = any(note.status != NoteStatus.ISSUED for note in notes)
    spent = wallet is not None and selectors.purchase_credit_spent(purchase=purchase, now=now)
    refusal = rules.cancel_refusal(purchase=purchase, now=now, notes_used=notes_used,
                                   wallet_balance=wallet.balance if wallet is not None else None, credit_spent=spent)
    if refusal is not None:
        raise refuse(refusal)
    give_back(citizen_id=purchase.citizen_id, month=purchase.month, tranche_id=purchase.tranche_id,
              medium=purchase.medium, x=purchase.face_value, now=now)
    if purchase.medium == Medium.PAPER:
        purchase.notes.filter(status=NoteStatus.ISSUED).update(status=NoteStatus.CANCELLED, status_changed_at=now)
    else:
        move_wallet(citizen_id=purchase.citizen_id, amount=-purchase.face_value, kind=EntryKind.CANCEL,
                    purchase=purchase, reference=f"cancel:{purchase.pk}", now=now)
    purchase.status = PurchaseStatus.CANCELLED
    purchase.cancelled_at = now
    purchase.save(update_fields=["status", "cancelled_at"])
    events.record(EventKind.PURCHASE_CANCELLED, actor=actor, now=now, purchase=purchase,
                  tranche_id=purchase.tranche_id, citizen_id=purchase.citizen_id,
                  before={"status": PurchaseStatus.COMPLETED}, after={"status": PurchaseStatus.CANCELLED})
    paid = Reservation.objects.filter(purchase=purchase).exclude(payment_reference="").first()
    if paid is not None:  # paid online: the money goes back, decided with the cancel
        order_refund(reservation=paid, purchase=purchase, reference=paid.payment_reference,
                     amount=purchase.price, reason=RefundReason.CANCELLED, actor=actor, now=now)
    return purchase
