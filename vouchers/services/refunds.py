"""Money back through the gateway that took it: decided as a PaymentRefund row in the deciding
transaction, paid out by a retried task (claim → gateway call outside any transaction → record),
swept when stale, retried by staff. Every decision and attempt leaves a VoucherEvent."""
from django.db import transaction
from django.db.models import F, Q

from jinju_portal import actors, clock
from vouchers import months, rules
from vouchers.choices import EventKind, RefundPayout, RefundStatus
from vouchers.errors import refuse
from vouchers.models import PaymentRefund
from vouchers.services import events


def _enqueue_refund(refund_id: int) -> None:
    from jinju_portal.tasks import enqueue_on_commit
    from vouchers import tasks  # services import tasks at call time; tasks import services in their bodies

    enqueue_on_commit(tasks.refund_payment, refund_id)


def order_refund(*, reservation, purchase, reference, amount, reason, actor=None, now,
                 payout=RefundPayout.GATEWAY, face_value=None, idempotency_key="") -> PaymentRefund:
    """Claim the refund of `reference` (INSERT … ON CONFLICT DO NOTHING: one per payment, ever) and
    enqueue its execution once this transaction commits. A reference already refunded is not again.

    Balance refunds (`reason` balance_refund) also carry the face value returned; with
    `payout=agent` the asking sales agent (`actor`) pays the citizen itself at once, so the row is
    written `done` and nothing is enqueued (models.PaymentRefund)."""
    existed = PaymentRefund.objects.filter(payment_reference=reference).exists()
    if not existed:
        by_agent = payout == RefundPayout.AGENT
        PaymentRefund.objects.bulk_create([PaymentRefund(
            reservation=reservation, purchase=purchase, payment_reference=reference, amount=amount, reason=reason,
            created_at=now, payout=payout, face_value=face_value, api_client=actors.client_of(actor),
            user=actors.user_of(actor), idempotency_key=idempotency_key,
            status=RefundStatus.DONE if by_agent else RefundStatus.PENDING, done_at=now if by_agent else None)],
            ignore_conflicts=True)
    refund = PaymentRefund.objects.get(payment_reference=reference)
    if not existed and refund.created_at == now:  # this call ordered it (a racing twin found it there)
        events.record(EventKind.REFUND_ORDERED, actor=actor, now=now, refund=refund, reservation=reservation,
                      purchase=purchase, after={"amount": amount, "reason": reason, "status": refund.status,
                                                **({"payout": refund.payout} if face_value is not None else {})})
    if refund.status == RefundStatus.PENDING:
        _enqueue_refund(refund.pk)
    return refund


def execute_refund(*, refund_id, now=None) -> str:
    """Several short transactions, not one: the gateway call must run outside any (CONTRIBUTING.md).

    Pay one refund out through the gateway. Returns "done", or "skipped" when the row is not
    pending or another worker holds it; raises payments.GatewayError after recording the failure.

    Claim (one conditional UPDATE, its own short transaction) → gateway call outside any transaction
    → record the result with its event. Two workers never both call the gateway for one row: only one
    claim matches."""
    from vouchers import payments

    now = clock.now_or(now)
    claimed = (PaymentRefund.objects.filter(pk=refund_id, status=RefundStatus.PENDING, payout=RefundPayout.GATEWAY)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
               .update(claimed_until=now + rules.REFUND_CLAIM, attempts=F("attempts") + 1))
    if not claimed:
        return "skipped"
    refund = PaymentRefund.objects.get(pk=refund_id)
    try:
        gateway = payments.get_gateway()
        gateway.refund(reference=refund.payment_reference, amount=refund.amount)
    except Exception as exc:  # a gateway is a network service: any failure is recorded and retried
        status = RefundStatus.FAILED if refund.attempts >= rules.REFUND_MAX_ATTEMPTS else RefundStatus.PENDING
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with transaction.atomic():
            PaymentRefund.objects.filter(pk=refund_id).update(status=status, claimed_until=None, last_error=error)
            events.record(EventKind.REFUND_ATTEMPTED, now=now, refund=refund, reservation_id=refund.reservation_id,
                          purchase_id=refund.purchase_id, before={"status": RefundStatus.PENDING},
                          after={"status": status, "attempt": refund.attempts}, note=error)
        if isinstance(exc, payments.GatewayError):
            raise
        raise payments.GatewayError(str(exc)) from exc
    with transaction.atomic():
        PaymentRefund.objects.filter(pk=refund_id).update(status=RefundStatus.DONE, done_at=now,
                                                          claimed_until=None, last_error="")
        events.record(EventKind.REFUND_ATTEMPTED, now=now, refund=refund, reservation_id=refund.reservation_id,
                      purchase_id=refund.purchase_id, before={"status": RefundStatus.PENDING},
                      after={"status": RefundStatus.DONE, "attempt": refund.attempts})
    return "done"


@transaction.atomic
def retry_refund(*, refund_id, actor=None, now=None) -> PaymentRefund:
    """Staff's "다시 시도": a failed (or stuck pending) refund goes back to pending and is enqueued.
    A refund already done is left alone (409 `refund_done`)."""
    now = clock.now_or(now)
    refund = PaymentRefund.objects.select_for_update().filter(pk=refund_id).first()
    if refund is None:
        raise refuse("not_found.refund")
    if refund.status == RefundStatus.DONE:
        raise refuse("refund_done")
    before = refund.status
    refund.status = RefundStatus.PENDING
    refund.save(update_fields=["status"])
    events.record(EventKind.REFUND_RETRIED, actor=actor, now=now, refund=refund,
                  before={"status": before}, after={"status": RefundStatus.PENDING})
    _enqueue_refund(refund.pk)
    return refund


def retry_pending_refunds(*, now=None, limit: int = 500) -> int:
    """The every-10-minutes sweep: re-enqueue refunds pending for longer than REFUND_STALE_AFTER and
    not held by a worker (their task was lost, or used up its retries). Safe twice: execute_refund
    claims each row once at a time."""
    now = clock.now_or(now)
    ids = list(PaymentRefund.objects.filter(status=RefundStatus.PENDING, payout=RefundPayout.GATEWAY,
                                            created_at__lte=now - rules.REFUND_STALE_AFTER)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
               .order_by("id").values_list("id", flat=True)[:limit])
    for refund_id in ids:
        _enqueue_refund(refund_id)
    return len(ids)
