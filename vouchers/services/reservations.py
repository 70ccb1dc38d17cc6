"""The web purchase: reserve (hold quota and usage) → the citizen pays → confirm or fail; holds
whose payment window lapsed are released by the every-minute job."""
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from jinju_portal import actors, clock
from vouchers import inputs, months, notes
from vouchers.choices import Channel, EventKind, Medium, PurchaseStatus, RefundReason, ReservationStatus
from vouchers.errors import refuse
from vouchers.models import (DEFAULT_MONTHLY_LIMIT, Citizen, MonthlyUsage, PaymentRefund, Purchase, Reservation,
                             Tranche, VoucherEvent)
from vouchers.services import events
from vouchers.services.cancellations import give_back
from vouchers.services.refunds import order_refund
from vouchers.services.sales import _refuse_from_reads, fast_sql, purchase_orm, sell
from vouchers.services.wallet import deliver


def reserve_purchase(*, tranche_id, citizen: Citizen, face_value, actor=None, now=None) -> Reservation:
    """Hold quota and month usage for VOUCHERS_RESERVATION_HOLD (10 minutes) while the citizen pays.

    Mobile tranches only (the web credits the wallet). Same refusals, same order as a sale."""
    now = clock.now_or(now)
    x = inputs.clean_face_value(face_value)
    tid = inputs.clean_tranche_id(tranche_id)
    medium = inputs.tranche_medium(tid)
    user = actors.user_of(actor)
    if medium != Medium.MOBILE:
        raise refuse("invalid_tranche.not_mobile", on="tranche")
    month = months.month_of(now)
    hold = settings.VOUCHERS_RESERVATION_HOLD

    def refuse_from_reads():
        _refuse_from_reads(tid=tid, ci_hash=None, citizen=citizen, birth_year=None, x=x, now=now, month=month)

    if not inputs.within_sale_maximum(x) or not notes.payable(medium, x):
        refuse_from_reads()
        raise refuse("invalid_face_value.too_large", on="face_value")
    if not fast_sql():
        return purchase_orm(tid=tid, ci_hash=None, citizen=citizen, name="", birth_year=None, x=x,
                            channel=Channel.WEB, api_client=None, user=user, ikey="", now=now, month=month,
                            denoms=[], serials=[], reservation_hold=hold)
    params = {
        "cid": citizen.pk, "now": now, "today": months.seoul(now).date(), "month": month,
        "month_start": months.first_day(month), "year_prefix": month[:4] + "-%",
        "default_limit": DEFAULT_MONTHLY_LIMIT,
        "tid": tid, "medium": medium, "x": x, "xp": 0, "xm": x, "user_id": getattr(user, "pk", None),
        "hold_until": now + hold,
    }
    row = sell((False, "reservation", medium), params, x=x, now=now, month=month, medium=medium,
               refuse_from_reads=refuse_from_reads)
    return Reservation.objects.get(pk=row["purchase_id"])


def _locked(reservation_id) -> Reservation:
    reservation = Reservation.objects.select_for_update().filter(pk=reservation_id).first()
    if reservation is None:
        raise refuse("not_found.reservation")
    return reservation


@transaction.atomic
def confirm_reservation(*, reservation_id, payment_reference: str = "", actor=None, now=None) -> Purchase:
    """The payment succeeded: turn the hold into a purchase and credit the wallet. The counters moved
    at reservation time, so nothing is claimed again. Confirming twice returns the same purchase.
    A reservation already released or failed answers 409 `reservation_expired` (refund the payment)."""
    now = clock.now_or(now)
    reservation = _locked(reservation_id)
    if reservation.status == ReservationStatus.CONFIRMED:
        return reservation.purchase
    if reservation.status != ReservationStatus.HELD:
        raise refuse("reservation_expired")
    return _confirm(reservation, reference=(payment_reference or "")[:100], actor=actor, now=now)


def _end_hold(reservation, *, status, actor, now):
    give_back(citizen_id=reservation.citizen_id, month=reservation.month, tranche_id=reservation.tranche_id,
              medium=reservation.medium, x=reservation.face_value, now=now)
    before = reservation.status
    reservation.status = status
    reservation.finished_at = now
    reservation.save(update_fields=["status", "finished_at"])
    events.record(EventKind.RESERVATION_FAILED, actor=actor, now=now, reservation=reservation,
                  tranche_id=reservation.tranche_id, citizen_id=reservation.citizen_id,
                  before={"status": before}, after={"status": status})


@transaction.atomic
def fail_reservation(*, reservation_id, actor=None, now=None) -> Reservation:
    """The payment failed or was abandoned: give back the held quota and usage at once."""
    now = clock.now_or(now)
    reservation = _locked(reservation_id)
    if reservation.status == ReservationStatus.HELD:
        _end_hold(reservation, status=ReservationStatus.FAILED, actor=actor, now=now)
    return reservation


# --- the gateway's answer, from the browser or the gateway's own notification ------------------------

@dataclass(frozen=True)
class Settlement:
    state: str  # paid | failed | expired
    purchase: Purchase | None = None
    refund: PaymentRefund | None = None


@transaction.atomic
def settle_payment(*, reservation_id, payment_reference: str, paid: bool, amount: int | None = None,
                   actor=None, now=None) -> Settlement:
    """One answer of the gateway about one payment of a hold, whichever way it arrived (browser
    return or server notification), as often as it arrives: the hold's row lock orders them.

    Paid and the hold is held: confirm (purchase + wallet credit). Paid again with the same reference:
    the same purchase. Paid with another reference while already confirmed (a second tab): that
    payment is refunded. Paid after the hold was released or failed: refunded. Not paid: the hold is
    given back at once (an already-confirmed hold stays confirmed). An `amount` other than the hold's
    price is refused (400 `amount_mismatch`) and nothing is written."""
    now = clock.now_or(now)
    reference = (payment_reference or "")[:100]
    reservation = _locked(reservation_id)
    if amount is not None and amount != reservation.price:
        raise refuse("amount_mismatch")
    if not paid:
        if reservation.status == ReservationStatus.HELD:
            _end_hold(reservation, status=ReservationStatus.FAILED, actor=actor, now=now)
        if reservation.status == ReservationStatus.CONFIRMED:
            return Settlement("paid", purchase=reservation.purchase)
        return Settlement("failed" if reservation.status == ReservationStatus.FAILED else "expired")
    if not reference:
        raise refuse("invalid_reference")
    if reservation.status == ReservationStatus.HELD:
        return Settlement("paid", purchase=_confirm(reservation, reference=reference, actor=actor, now=now))
    if reservation.status == ReservationStatus.CONFIRMED:
        if reservation.payment_reference == reference:
            return Settlement("paid", purchase=reservation.purchase)
        refund = order_refund(reservation=reservation, purchase=None, reference=reference,
                              amount=reservation.price, reason=RefundReason.DUPLICATE_PAYMENT, actor=actor,
                              now=now)
        return Settlement("paid", purchase=reservation.purchase, refund=refund)
    refund = order_refund(reservation=reservation, purchase=None, reference=reference, amount=reservation.price,
                          reason=RefundReason.LATE_PAYMENT, actor=actor, now=now)
    return Settlement("expired", refund=refund)


def _confirm(reservation, *, reference, actor, now) -> Purchase:
    purchase = Purchase.objects.create(
        channel=Channel.WEB, user=reservation.user, citizen_id=reservation.citizen_id,
        tranche_id=reservation.tranche_id, medium=reservation.medium, face_value=reservation.face_value,
        price=reservation.price, month=reservation.month, idempotency_key=f"reservation:{reservation.pk}",
        created_at=now)
    deliver(purchase=purchase, denoms=[], serials=[], now=now)
    before = reservation.status
    reservation.status = ReservationStatus.CONFIRMED
    reservation.purchase = purchase
    reservation.payment_reference = reference
    reservation.finished_at = now
    reservation.save(update_fields=["status", "purchase", "payment_reference", "finished_at"])
    events.record(EventKind.RESERVATION_CONFIRMED, actor=actor, now=now, reservation=reservation, purchase=purchase,
                  tranche_id=reservation.tranche_id, citizen_id=reservation.citizen_id,
                  before={"status": before}, after={"status": ReservationStatus.CONFIRMED,
                                                    "payment_reference": reference,
                                                    "purchase_status": PurchaseStatus.COMPLETED})
    return purchase


# --- the every-minute release ------------------------------------------------------------------------

def _release_batch(lapsed, *, now):
    """Give back many holds at once in the app's lock order (vouchers/locks.py): every usage row
    first (sorted), then each tranche once (sorted). Interleaving them deadlocks against concurrent
    sales, which hold a usage row while they wait for the tranche."""
    usage_back, tranche_back = {}, {}
    for r in lapsed:
        key = (r.citizen_id, r.month)
        paper, mobile = usage_back.get(key, (0, 0))
        usage_back[key] = (paper + (r.face_value if r.medium == Medium.PAPER else 0),
                           mobile + (r.face_value if r.medium == Medium.MOBILE else 0))
        tranche_back[r.tranche_id] = tranche_back.get(r.tranche_id, 0) + r.face_value
    for (citizen_id, month), (paper, mobile) in sorted(usage_back.items()):
        MonthlyUsage.objects.filter(citizen_id=citizen_id, month=month).update(
            purchased=F("purchased") - (paper + mobile), paper_purchased=F("paper_purchased") - paper,
            mobile_purchased=F("mobile_purchased") - mobile, updated_at=now)
    for tranche_id, amount in sorted(tranche_back.items()):
        Tranche.objects.filter(pk=tranche_id).update(sold=F("sold") - amount)
    Reservation.objects.filter(pk__in=[r.pk for r in lapsed]).update(status=ReservationStatus.RELEASED,
                                                                     finished_at=now)
    VoucherEvent.objects.bulk_create([
        events.build(EventKind.RESERVATION_RELEASED, now=now, reservation=r, tranche_id=r.tranche_id,
                     citizen_id=r.citizen_id, before={"status": ReservationStatus.HELD},
                     after={"status": ReservationStatus.RELEASED}) for r in lapsed])


def release_lapsed_reservations(*, now=None, batch: int = 200) -> int:
    """Release holds whose payment window has passed (the every-minute job), one short transaction
    per batch so sales are never held up behind the whole sweep. Safe twice: a released hold is no
    longer `held`. Locks skip rows another worker is handling."""
    now = clock.now_or(now)
    released = 0
    while True:
        with transaction.atomic():
            lapsed = list(Reservation.objects.select_for_update(skip_locked=True)
                          .filter(status=ReservationStatus.HELD, expires_at__lte=now).order_by("id")[:batch])
            _release_batch(lapsed, now=now)
        released += len(lapsed)
        if len(lapsed) < batch:
            return released
