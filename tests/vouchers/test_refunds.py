"""Refunds of online payments: decided with the cancel / late payment, paid out once by a retried task,
swept when stale, retried by staff; on real PostgreSQL, with racing workers and a real Celery worker."""
import datetime as dt
import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jinju_portal.celery import BEAT_SCHEDULE
from tests.vouchers.conftest import race
from tests.vouchers.factories import CitizenFactory, TrancheFactory
from vouchers import payments, rules, services, tasks
from vouchers.models import PaymentRefund, Purchase, Reservation

pytestmark = pytest.mark.clock  # claims, stale sweeps, the cancel window, lapsed holds

class CountingGateway(payments.SandboxPaymentGateway):
    """The sandbox, counting refund calls across threads and failing the first `fail_first` of them."""

    lock = threading.Lock()
    calls: list = []
    fail_first = 0
    delay = 0.0

    def refund(self, *, reference, amount):
        with CountingGateway.lock:
            CountingGateway.calls.append((reference, amount))
            failing = len(CountingGateway.calls) <= CountingGateway.fail_first
        time.sleep(CountingGateway.delay)  # a slow network call, so racing workers overlap
        if failing:
            raise payments.GatewayError("PG timed out")
        super().refund(reference=reference, amount=amount)


@pytest.fixture
def retrying_eagerly():
    """Eager Celery that handles a task's Retry (re-runs it at once, ignoring the countdown) instead of
    raising it into the caller, so the task's own retry policy runs in-process."""
    conf = tasks.refund_payment.app.conf
    before = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = before


@pytest.fixture
def gateway(settings):
    settings.VOUCHERS_SANDBOX_PAYMENTS = True
    settings.VOUCHERS_PAYMENT_GATEWAY = "tests.vouchers.test_refunds.CountingGateway"
    CountingGateway.calls, CountingGateway.fail_first, CountingGateway.delay = [], 0, 0.0
    return CountingGateway


def paid_web_purchase(*, reference=None, face_value=50_000):
    citizen = CitizenFactory()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=f"buyer{citizen.pk}")
    citizen.user = user
    citizen.save(update_fields=["user"])
    tranche = TrancheFactory()
    held = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=face_value, actor=user)
    settled = services.settle_payment(reservation_id=held.pk, payment_reference=reference or f"sandbox-{held.pk}-ab12",
                                      paid=True)
    return settled.purchase, user


def pending_refund(*, reference=None, created_at=None):
    purchase, _user = paid_web_purchase(reference=reference)
    return PaymentRefund.objects.create(reservation=purchase.reservation, purchase=purchase,
                                        payment_reference=purchase.reservation.payment_reference,
                                        amount=purchase.price, reason="cancelled",
                                        created_at=created_at or timezone.now())


@pytest.mark.django_db
def test_the_refund_is_written_in_the_cancel_transaction_and_enqueued_only_after_commit(
        gateway, django_capture_on_commit_callbacks):
    purchase, user = paid_web_purchase()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.cancel_purchase(purchase_id=purchase.pk, actor=user)
    refund = PaymentRefund.objects.get()
    assert (refund.purchase_id, refund.reservation_id, refund.payment_reference, refund.amount, refund.reason,
            refund.status, refund.attempts) == (purchase.pk, purchase.reservation.pk,
                                                purchase.reservation.payment_reference, 45_000, "cancelled",
                                                "pending", 0)
    assert len(callbacks) == 1 and gateway.calls == []  # nothing paid out before the commit
    callbacks[0]()
    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == ("done", 1, "") and refund.done_at is not None
    assert gateway.calls == [(purchase.reservation.payment_reference, 45_000)]


@pytest.mark.django_db
def test_a_refused_cancel_orders_no_refund(gateway, django_capture_on_commit_callbacks):
    purchase, user = paid_web_purchase()
    with pytest.raises(services.RuleViolation) as exc:
        services.cancel_purchase(purchase_id=purchase.pk, actor=user, now=timezone.now() + dt.timedelta(days=8))
    assert exc.value.code == "cancel_window_closed"  # refused for the reason under test, not any other
    purchase.refresh_from_db()
    assert purchase.status == "completed"
    assert not PaymentRefund.objects.exists()


@pytest.mark.django_db
def test_a_payment_is_refunded_at_most_once_even_when_asked_twice(gateway):
    refund = pending_refund()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentRefund.objects.create(reservation=refund.reservation, payment_reference=refund.payment_reference,
                                     amount=1, reason="late_payment")
    assert PaymentRefund.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_refund_call_the_gateway_once(gateway):
    gateway.delay = 0.3
    refund = pending_refund()
    results = race(lambda: services.execute_refund(refund_id=refund.pk), [()] * 4)
    assert sorted(r[1] for r in results) == ["done", "skipped", "skipped", "skipped"], results
    assert len(gateway.calls) == 1
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("done", 1)


@pytest.mark.django_db
def test_a_failing_refund_is_retried_with_backoff_and_ends_done(gateway, retrying_eagerly,
                                                                django_capture_on_commit_callbacks):
    gateway.fail_first = 2
    purchase, user = paid_web_purchase()
    with django_capture_on_commit_callbacks(execute=True):  # the retries run at once, eagerly
        services.cancel_purchase(purchase_id=purchase.pk, actor=user)
    refund = PaymentRefund.objects.get()
    assert (refund.status, refund.attempts, refund.last_error) == ("done", 3, "")
    assert len(gateway.calls) == 3
    assert tasks.refund_payment.autoretry_for == (payments.GatewayError,)
    assert tasks.refund_payment.max_retries == tasks.REFUND_TASK_RETRIES and tasks.refund_payment.retry_backoff


@pytest.mark.django_db
def test_a_refund_that_keeps_failing_stays_pending_with_its_error_then_fails_for_staff(
        gateway, retrying_eagerly, django_capture_on_commit_callbacks):
    gateway.fail_first = 1000
    purchase, user = paid_web_purchase()
    with django_capture_on_commit_callbacks(execute=True):  # retries used up: no error reaches the caller
        services.cancel_purchase(purchase_id=purchase.pk, actor=user)
    refund = PaymentRefund.objects.get()
    assert (refund.status, refund.attempts) == ("pending", tasks.REFUND_TASK_RETRIES + 1)
    assert refund.last_error == "GatewayError: PG timed out" and refund.claimed_until is None
    while refund.status == "pending":
        with pytest.raises(payments.GatewayError):
            services.execute_refund(refund_id=refund.pk)
        refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("failed", rules.REFUND_MAX_ATTEMPTS)
    assert services.execute_refund(refund_id=refund.pk) == "skipped"  # failed rows wait for staff
    gateway.fail_first = 0
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_refund(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == "done"
    with pytest.raises(services.RuleViolation) as exc:
        services.retry_refund(refund_id=refund.pk)
    assert exc.value.code == "refund_done"


@pytest.mark.django_db
def test_without_a_broker_a_failing_refund_never_fails_the_request_that_cancelled(
        gateway, django_capture_on_commit_callbacks):
    gateway.fail_first = 1000
    purchase, user = paid_web_purchase()
    with django_capture_on_commit_callbacks(execute=True):  # eager and propagating, as in `make run`
        services.cancel_purchase(purchase_id=purchase.pk, actor=user)
    refund = PaymentRefund.objects.get()
    assert (refund.status, refund.attempts, len(gateway.calls)) == ("pending", 1, 1)
    assert Purchase.objects.get().status == "cancelled"


@pytest.mark.django_db
def test_the_sandbox_refund_fails_on_demand_for_marked_references(settings, django_capture_on_commit_callbacks):
    settings.VOUCHERS_SANDBOX_PAYMENTS, settings.VOUCHERS_PAYMENT_GATEWAY = True, ""
    refund = pending_refund(reference=f"sandbox-9-{payments.SANDBOX_REFUND_FAILS_MARKER}")
    with pytest.raises(payments.GatewayError):
        services.execute_refund(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == "pending" and "refused on demand" in refund.last_error


@pytest.mark.django_db
def test_the_sweep_re_enqueues_stale_pending_refunds_only(gateway, django_capture_on_commit_callbacks):
    now = timezone.now()
    stale = pending_refund(created_at=now - dt.timedelta(minutes=6))
    fresh = pending_refund(created_at=now - dt.timedelta(minutes=1))  # its own task is still on it
    held = pending_refund(created_at=now - dt.timedelta(minutes=30))
    PaymentRefund.objects.filter(pk=held.pk).update(claimed_until=now + dt.timedelta(minutes=1))  # a worker has it
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry_pending_refunds(now=now) == 1
    statuses = dict(PaymentRefund.objects.values_list("pk", "status"))
    assert statuses == {stale.pk: "done", fresh.pk: "pending", held.pk: "pending"}
    with django_capture_on_commit_callbacks(execute=True):  # run late or twice: nothing more to do
        assert services.retry_pending_refunds(now=now) == 0
    assert len(gateway.calls) == 1


def test_the_sweep_runs_every_ten_minutes_and_expires_before_the_next_run():
    entry = BEAT_SCHEDULE["vouchers-retry-pending-refunds"]
    assert entry["task"] == "vouchers.tasks.retry_pending_refunds"
    assert entry["options"] == {"expires": 9 * 60}
    assert entry["schedule"].minute == {0, 10, 20, 30, 40, 50}


@pytest.mark.slow
def test_a_real_celery_worker_pays_a_refund_out_from_redis(celery_worker_process):
    # the worker process runs with DEBUG from its environment (default on): the sandbox gateway
    refund = pending_refund()
    celery_worker_process(tasks.refund_payment, refund.pk)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        refund.refresh_from_db()
        if refund.status != "pending":
            break
        time.sleep(0.2)
    assert (refund.status, refund.attempts, refund.last_error) == ("done", 1, "")
    connection.close()


@pytest.fixture(autouse=True)
def _portal_app_stays_current():
    """The worker fixture's sender app makes itself Celery's current app; crontab entries resolve their
    timezone through the current app, so later tests (beat's stored schedule) would see UTC."""
    yield
    from jinju_portal.celery import app

    app.set_current()


@pytest.mark.django_db
def test_late_payment_after_release_orders_a_refund_and_confirms_nothing(gateway, django_capture_on_commit_callbacks):
    citizen, tranche = CitizenFactory(), TrancheFactory()
    held = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=20_000)
    services.release_lapsed_reservations(now=timezone.now() + dt.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        settled = services.settle_payment(reservation_id=held.pk, payment_reference="sandbox-late-1", paid=True)
    assert settled.state == "expired" and settled.refund.reason == "late_payment"
    assert not Purchase.objects.exists() and Reservation.objects.get().status == "released"
    assert PaymentRefund.objects.get().status == "done" and gateway.calls == [("sandbox-late-1", 18_000)]
    with django_capture_on_commit_callbacks(execute=True):  # the same answer again: the same refund, not paid twice
        again = services.settle_payment(reservation_id=held.pk, payment_reference="sandbox-late-1", paid=True)
    assert again.refund.pk == settled.refund.pk and PaymentRefund.objects.count() == 1 and len(gateway.calls) == 1


@pytest.mark.django_db
def test_staff_see_refunds_read_only_filter_by_status_and_retry_failed_ones(
        admin_client, gateway, django_capture_on_commit_callbacks):
    from django.urls import reverse

    failed, done = pending_refund(), pending_refund()
    PaymentRefund.objects.filter(pk=failed.pk).update(status="failed", attempts=10, last_error="GatewayError: down")
    PaymentRefund.objects.filter(pk=done.pk).update(status="done", done_at=timezone.now(), attempts=1)
    url = reverse("admin:vouchers_paymentrefund_changelist")
    page = admin_client.get(url)
    assert page.status_code == 200 and "다시 시도" in page.content.decode()
    listed = admin_client.get(url, {"status__exact": "failed"}).context["cl"].result_list
    assert [r.pk for r in listed] == [failed.pk]
    assert admin_client.get(reverse("admin:vouchers_paymentrefund_change", args=[failed.pk])).status_code == 200
    assert admin_client.get(reverse("admin:vouchers_paymentrefund_add")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"action": "retry", "_selected_action": [failed.pk, done.pk]}, follow=True)
    text = response.content.decode()
    assert "환불 1건을 다시 시도합니다." in text and "이미 환불된 1건은 건너뛰었습니다." in text
    assert dict(PaymentRefund.objects.values_list("pk", "status")) == {failed.pk: "done", done.pk: "done"}
    assert gateway.calls == [(failed.payment_reference, failed.amount)]
