"""selectors.cancel_refusal answers what services.cancel_purchase would, for every case the pages meet."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from jinju_portal.errors import ServiceError
from tests.vouchers.factories import CitizenFactory, TrancheFactory
from vouchers import selectors, services
from vouchers.models import Purchase, Wallet

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

NOW = timezone.now()


def user(name):
    return get_user_model().objects.create_user(username=name)


def bought(*, owner, medium="mobile", days_ago=1, face_value=10_000):
    citizen = CitizenFactory(user=owner)
    tranche = TrancheFactory(medium=medium, opens_at=NOW - dt.timedelta(days=30))
    result = services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=face_value,
                                        channel="web", actor=owner, now=NOW - dt.timedelta(days=days_ago))
    return Purchase.objects.get(pk=result.id)


def spend(purchase, amount):
    Wallet.objects.filter(citizen_id=purchase.citizen_id).update(balance=amount)  # as if paid at a shop


def use_a_note(purchase):
    purchase.notes.filter(pk=purchase.notes.order_by("pk").first().pk).update(status="redeemed", status_changed_at=NOW)


def service_answer(purchase, by, now):
    """The service's own answer: None when it cancels, its code when it refuses, "already_cancelled"
    when it leaves an already-cancelled purchase as it is."""
    was_cancelled = purchase.status == "cancelled"
    try:
        services.cancel_purchase(purchase_id=purchase.pk, actor=by, now=now)
    except ServiceError as exc:
        return exc.code
    return "already_cancelled" if was_cancelled else None


CASES = {
    # name: (build(owner, other) -> (purchase, who asks), expected)
    "fresh mobile purchase": (lambda o, x: (bought(owner=o), o), None),
    "day 7 is still inside": (lambda o, x: (bought(owner=o, days_ago=7), o), None),
    "day 8 is outside the window": (lambda o, x: (bought(owner=o, days_ago=8), o), "cancel_window_closed"),
    "part of the credit spent": (lambda o, x: (spend(p := bought(owner=o), 5_000) or p, o), "already_used"),
    "a paper note redeemed": (lambda o, x: (use_a_note(p := bought(owner=o, medium="paper")) or p, o),
                              "already_used"),
    "unused paper": (lambda o, x: (bought(owner=o, medium="paper"), o), None),
    "already cancelled": (lambda o, x: (services.cancel_purchase(purchase_id=bought(owner=o).pk, actor=o, now=NOW),
                                        o), "already_cancelled"),
    "someone else's purchase": (lambda o, x: (bought(owner=o), x), "not_found"),
    "someone else's old purchase": (lambda o, x: (bought(owner=o, days_ago=9), x), "not_found"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cancel_refusal_agrees_with_cancel_purchase(case):
    build, expected = CASES[case]
    owner, other = user("owner"), user("other")
    purchase, asker = build(owner, other)
    purchase = Purchase.objects.get(pk=purchase.pk)
    predicted = selectors.cancel_refusal(purchase=purchase, user=asker, now=NOW)
    assert predicted == expected
    assert service_answer(purchase, asker, NOW) == predicted
