"""Culture-centre sign-up: never more confirmed than seats (invariant 8), a numbered waiting list
promoted in order, one live registration per e-mail, confirmation and cancellation by token."""
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from industrial import selectors, services
from industrial.choices import RegistrationStatus
from industrial.models import Event, Registration
from jinju_portal.errors import NotFound, RuleViolation
from tests.industrial.factories import EventFactory
from tests.races import outcomes as race_outcomes
from tests.races import race

pytestmark = pytest.mark.clock  # events before or after now


def register(event, n, **kw):
    return services.register_for_event(event_id=event.pk, name=f"근로자{n}", company="㈜상평",
                                       email=kw.pop("email", f"worker{n}@example.com"), **kw)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_never_confirm_more_than_the_seats():
    event = EventFactory(seats=5)
    workers = 16
    results = race(lambda i: register(event, i)[0].status, [(i,) for i in range(workers)])
    statuses = [value for kind, value in results if kind == "ok"]
    event.refresh_from_db()
    assert statuses.count(RegistrationStatus.CONFIRMED) == 5
    assert statuses.count(RegistrationStatus.WAITLISTED) == workers - 5
    assert event.confirmed_count == 5
    assert Registration.objects.filter(event=event, status="confirmed").count() == 5
    numbers = sorted(Registration.objects.filter(event=event, status="waitlisted")
                     .values_list("waitlist_number", flat=True))
    assert numbers == list(range(1, workers - 5 + 1))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_same_email_signing_up_concurrently_registers_once():
    event = EventFactory(seats=50)
    workers = 8
    outcomes = race_outcomes(race(lambda i: register(event, i, email="same@example.com"), [(i,) for i in range(workers)]))
    assert outcomes.count("ok") == 1
    assert outcomes.count("already_registered") == workers - 1
    event.refresh_from_db()
    assert event.confirmed_count == 1


@pytest.mark.django_db
def test_database_check_refuses_confirmed_over_seats():
    event = EventFactory(seats=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(confirmed_count=2)


@pytest.mark.django_db
def test_waiting_list_is_promoted_in_order_when_someone_cancels(django_capture_on_commit_callbacks):
    event = EventFactory(seats=1)
    a, token_a = register(event, "A")
    b, token_b = register(event, "B")
    c, token_c = register(event, "C")
    d, _token_d = register(event, "D")
    assert [r.status for r in (a, b, c, d)] == ["confirmed", "waitlisted", "waitlisted", "waitlisted"]
    assert [r.waitlist_number for r in (b, c, d)] == [1, 2, 3]
    assert [selectors.waiting_position(r) for r in (b, c, d)] == [1, 2, 3]

    with django_capture_on_commit_callbacks(execute=True):
        _cancelled, promoted = services.cancel_registration(token=token_a)
    assert promoted.pk == b.pk
    assert any("대기에서 참가 확정" in m.subject and m.to == [b.email] for m in mail.outbox)

    # A waitlisted person leaving frees no seat and promotes nobody; D moves up to first in line.
    _c, promoted = services.cancel_registration(token=token_c)
    assert promoted is None
    d.refresh_from_db()
    assert selectors.waiting_position(d) == 1

    _b, promoted = services.cancel_registration(token=token_b)
    assert promoted.pk == d.pk
    event.refresh_from_db()
    assert event.confirmed_count == 1
    assert list(Registration.objects.filter(event=event, status="confirmed").values_list("pk", flat=True)) == [d.pk]


@pytest.mark.django_db
def test_cancelling_twice_is_harmless_and_an_unknown_token_is_not_found():
    event = EventFactory(seats=2)
    _r, token = register(event, 1)
    services.cancel_registration(token=token)
    services.cancel_registration(token=token)
    event.refresh_from_db()
    assert event.confirmed_count == 0
    with pytest.raises(NotFound):
        services.cancel_registration(token="not-a-real-token")


@pytest.mark.django_db
def test_one_live_registration_per_email_but_a_cancelled_one_frees_the_address():
    event = EventFactory(seats=3)
    _r, token = register(event, 1, email="Worker@Example.com")
    with pytest.raises(RuleViolation) as refused:
        register(event, 2, email="worker@example.com")
    assert refused.value.code == "already_registered"
    services.cancel_registration(token=token)
    again, _t = register(event, 3, email="worker@example.com")
    assert again.status == "confirmed"


@pytest.mark.django_db
def test_signup_sends_a_confirmation_with_a_cancel_link(django_capture_on_commit_callbacks):
    event = EventFactory(seats=1)
    with django_capture_on_commit_callbacks(execute=True):
        _r, token = register(event, 1)
        _w, _t = register(event, 2)
    confirmed, waitlisted = mail.outbox
    assert "참가 확정" in confirmed.subject and f"/industrial/events/cancel/{token}/" in confirmed.body
    assert "대기 신청" in waitlisted.subject and "대기 1번" in waitlisted.body
    # Only a hash of the token is stored.
    assert not Registration.objects.filter(cancel_token_hash=token).exists()


@pytest.mark.django_db
def test_signup_for_a_started_event_is_refused():
    event = EventFactory(starts_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(RuleViolation) as refused:
        register(event, 1)
    assert refused.value.code == "registration_closed"


@pytest.mark.django_db
def test_more_seats_promote_the_waiting_list_and_fewer_than_confirmed_is_refused():
    event = EventFactory(seats=1)
    register(event, 1)
    w1, _ = register(event, 2)
    w2, _ = register(event, 3)
    promoted = services.change_event_seats(event=event, seats=2)
    assert [r.pk for r in promoted] == [w1.pk]
    with pytest.raises(RuleViolation) as refused:
        services.change_event_seats(event=event, seats=1)
    assert refused.value.code == "seats_below_confirmed"
    w2.refresh_from_db()
    assert w2.status == "waitlisted"


@pytest.mark.django_db
def test_upcoming_events_hide_past_ones():
    past = EventFactory(starts_at=timezone.now() - timedelta(days=1))
    future = EventFactory()
    assert list(selectors.upcoming_events()) == [future]
    assert past not in selectors.upcoming_events()
