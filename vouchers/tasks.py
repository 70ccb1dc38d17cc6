"""Celery tasks of `vouchers`: thin wrappers around the scheduled services (all idempotent).

Services import this module when they enqueue; these import services inside their bodies, never at
module level, so the two never form an import cycle."""
from celery import shared_task

from vouchers import payments

# Backoff 30 s, 60 s, … capped at 30 min (jittered); after these the 10-minute sweep takes over.
REFUND_TASK_RETRIES = 6


@shared_task(name="vouchers.tasks.month_rollover")
def month_rollover():
    from vouchers import services

    return services.month_rollover()


@shared_task(name="vouchers.tasks.release_lapsed_reservations")
def release_lapsed_reservations():
    from vouchers import services

    return services.release_lapsed_reservations()


@shared_task(name="vouchers.tasks.expire_notes_and_credits")
def expire_notes_and_credits():
    from vouchers import services

    return services.expire_notes_and_credits()


@shared_task(name="vouchers.tasks.refund_payment", bind=True, autoretry_for=(payments.GatewayError,),
             max_retries=REFUND_TASK_RETRIES, retry_backoff=30, retry_backoff_max=30 * 60, retry_jitter=True)
def refund_payment(self, refund_id):
    from vouchers import services

    try:
        return services.execute_refund(refund_id=refund_id)
    except payments.GatewayError:
        if self.request.retries >= self.max_retries:
            return "pending"  # retries used up: the row stays for the 10-minute sweep and the admin
        if self.request.is_eager and self.app.conf.task_eager_propagates:
            # no broker (development): a retry cannot wait here and would surface as an error in
            # the request that enqueued the refund; the row stays pending with its error instead
            return "pending"
        raise  # autoretry_for: again after the backoff


@shared_task(name="vouchers.tasks.retry_pending_refunds")
def retry_pending_refunds():
    from vouchers import services

    return services.retry_pending_refunds()


@shared_task(name="vouchers.tasks.build_settlements")
def build_settlements(date=None):
    """Yesterday's settlements (Asia/Seoul) by default; idempotent, safe to run late or twice."""
    import datetime as dt

    from django.utils import timezone

    from vouchers import services

    day = date or (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    result = services.build_settlements(date=day)
    return {"date": result.date.isoformat(), "created": result.created, "recalculated": result.recalculated}


@shared_task(name="vouchers.tasks.scan_cash_out")
def scan_cash_out():
    """Nightly after the settlement build: yesterday's month, idempotent (a rerun refreshes open signals)."""
    from vouchers import services

    return services.scan_cash_out().as_dict()
