"""The trail: every state change in vouchers leaves exactly one VoucherEvent, written by the
service in the changing transaction, with who did it and the fields before and after; a refused
change leaves none; the trail itself is append-only."""
import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, InternalError, connection, transaction
from django.utils import timezone

from jinju_portal.errors import ServiceError
from jinju_portal.services import issue_api_key
from tests.vouchers.factories import CitizenFactory, IssuancePlanFactory, TrancheFactory, staff_actor
from tests.vouchers.test_refunds import CountingGateway, gateway, paid_web_purchase  # noqa: F401 (fixture)
from vouchers import services
from vouchers.models import LimitPolicy, Reservation, Tranche, VoucherEvent

pytestmark = pytest.mark.django_db
KST = dt.timezone(dt.timedelta(hours=9))


def only_event(**targets) -> VoucherEvent:
    events = list(VoucherEvent.objects.filter(**targets))
    assert len(events) == 1, events
    return events[0]


def web_user(name="buyer"):
    return get_user_model().objects.create_user(username=name)


def test_a_partner_cancel_records_the_client_and_the_status_change():
    client, _key = issue_api_key(name="NH 창구", role="sales_agent")
    tranche = TrancheFactory()
    sold = services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-EV-1", face_value=10_000,
                                      channel="zeropay_app", actor=client)
    assert not VoucherEvent.objects.exists()  # a sale is its Purchase row, not an event
    services.cancel_purchase(purchase_id=sold.id, actor=client)
    event = only_event(purchase_id=sold.id)
    assert (event.kind, event.api_client_id, event.user_id, event.actor) == (
        "purchase_cancelled", client.pk, None, "client:NH 창구")
    assert (event.before, event.after, event.tranche_id) == (
        {"status": "completed"}, {"status": "cancelled"}, tranche.pk)
    services.cancel_purchase(purchase_id=sold.id, actor=client)  # a second cancel changes nothing
    assert VoucherEvent.objects.count() == 1


def test_a_refused_change_leaves_no_event():
    tranche = TrancheFactory(quota=100_000)
    sold = services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci="CI-EV-2", face_value=50_000,
                                      channel="zeropay_app")
    clerk = staff_actor()
    with pytest.raises(ServiceError) as exc:
        services.raise_tranche_quota(tranche_id=tranche.pk, quota=10_000, actor=clerk)
    assert exc.value.code == "quota_below_sold"
    with pytest.raises(ServiceError) as exc:
        services.cancel_purchase(purchase_id=sold.id, actor=clerk, now=timezone.now() + dt.timedelta(days=8))
    assert exc.value.code == "cancel_window_closed"
    assert not VoucherEvent.objects.exists()


def test_quota_raise_and_early_close_record_the_clerk_and_the_figures():
    tranche = TrancheFactory(quota=100_000)
    clerk = staff_actor()
    services.raise_tranche_quota(tranche_id=tranche.pk, quota=250_000, actor=clerk)
    services.close_tranche(tranche_id=tranche.pk, actor=clerk)
    services.close_tranche(tranche_id=tranche.pk, actor=clerk)  # already closed: nothing more
    raised, closed = VoucherEvent.objects.filter(tranche=tranche).order_by("id")
    assert (raised.kind, raised.user_id, raised.before, raised.after) == (
        "quota_raised", clerk.pk, {"quota": 100_000}, {"quota": 250_000, "sold": 0})
    assert closed.kind == "tranche_closed" and closed.before == {"closed_at": None}
    assert closed.after["closed_at"] == Tranche.objects.get(pk=tranche.pk).closed_at.isoformat()


def test_the_web_journey_records_confirm_and_fail_and_release():
    user = web_user()
    citizen = CitizenFactory(user=user)
    tranche = TrancheFactory()
    paid = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=10_000, actor=user)
    services.settle_payment(reservation_id=paid.pk, payment_reference="ref-ok", paid=True, actor=user)
    failed = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=10_000, actor=user)
    services.fail_reservation(reservation_id=failed.pk, actor=user)
    lapsed = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=10_000, actor=user)
    services.release_lapsed_reservations(now=timezone.now() + dt.timedelta(minutes=11))

    confirmed = only_event(reservation=paid)
    assert confirmed.kind == "reservation_confirmed" and confirmed.user_id == user.pk
    assert confirmed.purchase_id == Reservation.objects.get(pk=paid.pk).purchase_id
    assert confirmed.after["payment_reference"] == "ref-ok"
    assert only_event(reservation=failed).kind == "reservation_failed"
    released = only_event(reservation=lapsed)
    assert (released.kind, released.actor, released.before, released.after) == (
        "reservation_released", "system", {"status": "held"}, {"status": "released"})


def test_every_refund_decision_and_attempt_is_on_the_refunds_trail(gateway, django_capture_on_commit_callbacks):
    purchase, user = paid_web_purchase()
    gateway.fail_first = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_purchase(purchase_id=purchase.pk, actor=user)
    refund = purchase.refunds.get()
    kinds = list(VoucherEvent.objects.filter(refund=refund).order_by("id").values_list("kind", "after"))
    assert kinds[0] == ("refund_ordered", {"amount": purchase.price, "reason": "cancelled", "status": "pending"})
    assert kinds[1] == ("refund_attempted", {"status": "pending", "attempt": 1})
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_refund(refund_id=refund.pk, actor=staff_actor())
    kinds = list(VoucherEvent.objects.filter(refund=refund).order_by("id").values_list("kind", flat=True))
    assert kinds == ["refund_ordered", "refund_attempted", "refund_retried", "refund_attempted"]
    last = VoucherEvent.objects.filter(refund=refund).order_by("id").last()
    assert last.after == {"status": "done", "attempt": 2}


def test_tranche_and_plan_and_policy_changes_record_before_and_after():
    clerk = staff_actor()
    plan = IssuancePlanFactory(year=2031, planned=1_200_000_000)
    opens = dt.datetime(2031, 3, 1, 9, tzinfo=KST)
    now = dt.datetime(2031, 2, 10, 12, tzinfo=KST)
    tranche = services.create_tranche(name="3월", medium="mobile", quota=100_000_000, opens_at=opens,
                                      closes_at=opens + dt.timedelta(days=30), plan=plan, actor=clerk, now=now)
    services.update_tranche(tranche_id=tranche.pk, changes={"discount_rate": Decimal("0.0500")}, actor=clerk,
                            now=now)
    services.set_plan_schedule(plan_id=plan.pk, schedule={"2031-03": 100_000_000}, actor=clerk, now=now)
    policy = services.create_limit_policy(effective_from=dt.date(2031, 4, 1), monthly_limit=500_000, actor=clerk,
                                          now=now)
    services.update_limit_policy(policy_id=policy.pk, changes={"monthly_limit": 400_000}, actor=clerk, now=now)

    created, changed = VoucherEvent.objects.filter(tranche=tranche).order_by("id")
    assert created.kind == "tranche_created" and created.after["quota"] == 100_000_000
    assert (changed.kind, changed.before, changed.after) == (
        "tranche_changed", {"discount_rate": "0.1000"}, {"discount_rate": "0.0500"})
    plan_event = only_event(plan=plan, kind="plan_changed")
    assert plan_event.after == {"layout": "schedule", "schedule": {"2031-03": 100_000_000}}
    assert [e.kind for e in VoucherEvent.objects.filter(policy=policy).order_by("id")] == [
        "policy_created", "policy_changed"]
    assert only_event(policy=policy, kind="policy_changed").before == {"monthly_limit": 500_000}
    assert all(e.user_id == clerk.pk for e in VoucherEvent.objects.all())


def test_linking_a_web_account_is_recorded_once():
    user = web_user("linker")
    citizen = services.link_citizen(actor=user, ci="CI-LINK-EV")
    services.link_citizen(actor=user, ci="CI-LINK-EV")
    event = only_event(citizen=citizen)
    assert (event.kind, event.after) == ("citizen_linked", {"user": user.pk})


def test_a_tranche_on_sale_keeps_its_rate_and_opening_and_refuses_a_close_in_the_past():
    tranche = TrancheFactory()  # opened an hour ago
    clerk = staff_actor()
    for changes in ({"discount_rate": Decimal("0.2000")}, {"opens_at": tranche.opens_at - dt.timedelta(days=1)},
                    {"rotation": True}):
        with pytest.raises(ServiceError) as exc:
            services.update_tranche(tranche_id=tranche.pk, changes=changes, actor=clerk)
        assert exc.value.code == "tranche_on_sale" and set(exc.value.fields) == set(changes)
    with pytest.raises(ServiceError) as exc:
        services.update_tranche(tranche_id=tranche.pk, changes={"closes_at": timezone.now() - dt.timedelta(minutes=1)},
                                actor=clerk)
    assert exc.value.code == "invalid_period"
    later = tranche.closes_at + dt.timedelta(days=3)
    services.update_tranche(tranche_id=tranche.pk, changes={"name": "연장", "closes_at": later}, actor=clerk)
    tranche.refresh_from_db()
    assert (tranche.name, tranche.closes_at, tranche.discount_rate) == ("연장", later, Decimal("0.1000"))


def test_a_policy_whose_month_has_begun_cannot_be_changed():
    policy = LimitPolicy.objects.create(effective_from=dt.date(2021, 1, 1), monthly_limit=300_000)
    with pytest.raises(ServiceError) as exc:
        services.update_limit_policy(policy_id=policy.pk, changes={"monthly_limit": 1}, actor=staff_actor())
    assert exc.value.code == "policy_in_force"
    assert LimitPolicy.objects.get(pk=policy.pk).monthly_limit == 300_000


def test_the_trail_is_append_only_in_the_database():
    tranche = TrancheFactory()
    services.close_tranche(tranche_id=tranche.pk, actor=staff_actor())
    event = VoucherEvent.objects.get()
    for statement in ("UPDATE vouchers_voucherevent SET note = 'x' WHERE id = %s",
                      "DELETE FROM vouchers_voucherevent WHERE id = %s"):
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert VoucherEvent.objects.get().note == ""


@pytest.mark.django_db(transaction=True)
def test_an_event_outside_a_transaction_is_refused():
    from vouchers.services import events

    with pytest.raises(RuntimeError):
        events.record("tranche_closed", now=timezone.now())


def test_expiry_records_the_notes_run_and_each_wallets_expired_credit_once():
    mobile, paper = TrancheFactory(medium="mobile"), TrancheFactory(medium="paper")
    bought_at = mobile.opens_at + dt.timedelta(minutes=1)
    sold = services.purchase_vouchers(tranche_id=mobile.pk, buyer_ci="CI-EXP-EV", face_value=50_000,
                                      channel="zeropay_app", now=bought_at)
    services.purchase_vouchers(tranche_id=paper.pk, buyer_ci="CI-EXP-EV", face_value=10_000, channel="branch",
                               now=bought_at)
    later = bought_at + dt.timedelta(days=365 * 5 + 2)
    services.expire_notes_and_credits(now=later)
    services.expire_notes_and_credits(now=later)  # nothing left: no second events
    notes = only_event(kind="notes_expired")
    assert notes.after == {"status": "expired", "notes": 1} and notes.actor == "system"
    credit = only_event(kind="credit_expired")
    assert (credit.citizen_id, credit.before, credit.after) == (
        sold.citizen_id, {"balance": 50_000}, {"balance": 0, "expired": 50_000})
