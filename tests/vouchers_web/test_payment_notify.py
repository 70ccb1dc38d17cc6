"""The PG's server-to-server notification (/vouchers/payments/notify/): signed, idempotent, racing the
browser's return to one purchase, and 400 with nothing written for anything it cannot trust."""
import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import CitizenFactory
from tests.vouchers_web.test_purchase_pages import answer, reserve, start_payment
from vouchers import payments, services
from vouchers.models import PaymentRefund, Purchase, Reservation, Tranche, WalletEntry

pytestmark = pytest.mark.clock  # the 10-minute hold

URL = "/vouchers/payments/notify/"


def notify(client, reservation, reference, outcome="paid", amount=None, body=None, signature=None):
    signed_body, signed = payments.sandbox_notification(
        reservation_id=reservation.pk, reference=reference, outcome=outcome,
        amount=reservation.price if amount is None else amount)
    body = signed_body if body is None else body
    signature = (signed if body is signed_body else payments.sandbox_sign(body)) if signature is None else signature
    return client.post(URL, data=body, content_type="application/json",
                       headers={payments.SANDBOX_SIGNATURE_HEADER: signature})


def snapshot():
    """Everything a notification could write."""
    return (list(Reservation.objects.values_list("id", "status", "payment_reference").order_by("id")),
            Purchase.objects.count(), WalletEntry.objects.count(), PaymentRefund.objects.count(),
            list(Tranche.objects.values_list("sold", flat=True)))


def test_the_url_is_where_the_pg_is_told_to_call():
    assert reverse("vouchers:payment_notify") == URL


@pytest.mark.django_db
def test_a_signed_paid_notification_confirms_once_and_a_replay_is_harmless(signed_in, citizen, tranche):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    pg = Client(enforce_csrf_checks=True)  # the PG has no session and no CSRF token
    first = notify(pg, reservation, reference)
    assert first.status_code == 200, first.content
    purchase = Purchase.objects.get()
    assert first.json() == {"state": "paid", "purchase": purchase.pk, "refund": None}
    for _ in range(3):
        assert notify(pg, reservation, reference).json() == first.json()
    # the browser comes back afterwards: the same purchase, nothing more
    answer(signed_in, reservation, reference, "paid")
    assert Purchase.objects.count() == 1 and WalletEntry.objects.count() == 1
    assert not PaymentRefund.objects.exists()
    assert Reservation.objects.get().payment_reference == reference
    assert_invariants()


@pytest.mark.django_db
def test_a_failed_notification_gives_the_hold_back(signed_in, citizen, tranche):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    response = notify(Client(), reservation, reference, outcome="failed")
    assert response.json() == {"state": "failed", "purchase": None, "refund": None}
    assert Reservation.objects.get().status == "failed" and Tranche.objects.get().sold == 0
    assert_invariants()


@pytest.mark.django_db
def test_a_paid_notification_after_the_hold_was_released_orders_a_refund(signed_in, citizen, tranche,
                                                                        recording_gateway,
                                                                        django_capture_on_commit_callbacks):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    services.release_lapsed_reservations(now=timezone.now() + dt.timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        response = notify(Client(), reservation, reference)
        notify(Client(), reservation, reference)  # the PG retries its notification
    refund = PaymentRefund.objects.get()
    assert response.json() == {"state": "expired", "purchase": None, "refund": refund.pk}
    assert (refund.reason, refund.amount, refund.status) == ("late_payment", 45_000, "done")
    assert recording_gateway.refunds == [(reference, 45_000)] and not Purchase.objects.exists()
    assert_invariants()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_notification_racing_the_browser_return_makes_one_purchase(user, tranche):
    CitizenFactory(user=user)
    browser = Client()
    browser.force_login(user)
    for _ in range(5):  # several rounds: either side may win
        reservation = reserve(browser, tranche, "10,000")
        reference = start_payment(browser, reservation)
        barrier = threading.Barrier(2)
        answers = {}

        def run(name, call):
            try:
                barrier.wait(timeout=30)
                answers[name] = call()
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=("pg", lambda: notify(Client(), reservation, reference))),
                   threading.Thread(target=run, args=("browser",
                                                      lambda: answer(browser, reservation, reference, "paid")))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert answers["pg"].status_code == 200 and answers["browser"].status_code == 302
        assert Purchase.objects.filter(reservation=reservation).count() == 1
        assert WalletEntry.objects.filter(purchase__reservation=reservation).count() == 1
    assert Purchase.objects.count() == 5 and not PaymentRefund.objects.exists()
    assert_invariants()


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["bad_signature", "no_signature", "unknown_reservation", "foreign_reference",
                                  "malformed_json", "not_an_object", "missing_fields", "textual_id", "huge_id",
                                  "non_utf8", "wrong_amount", "unsigned_garbage", "huge_body"])
def test_untrustworthy_notifications_answer_400_and_write_nothing(signed_in, citizen, tranche, case):
    reservation = reserve(signed_in, tranche)
    reference = start_payment(signed_in, reservation)
    before = snapshot()
    pg = Client()
    if case == "bad_signature":
        response = notify(pg, reservation, reference, signature="0" * 64)
    elif case == "no_signature":
        response = pg.post(URL, data=payments.sandbox_notification(reservation_id=reservation.pk, reference=reference,
                                                                    outcome="paid", amount=45_000)[0],
                           content_type="application/json")
    elif case == "unknown_reservation":
        ghost = Reservation(pk=reservation.pk + 1000, price=45_000)
        response = notify(pg, ghost, f"sandbox-{ghost.pk}-abc")
    elif case == "foreign_reference":
        response = notify(pg, reservation, "sandbox-999999-abc")
    elif case == "malformed_json":
        response = notify(pg, reservation, reference, body=b'{"reservation": 1,')
    elif case == "not_an_object":
        response = notify(pg, reservation, reference, body=b"[1, 2]")
    elif case == "missing_fields":
        response = notify(pg, reservation, reference, body=b'{"reservation": %d}' % reservation.pk)
    elif case == "textual_id":
        response = notify(pg, reservation, reference, body=(
            '{"reservation": "%d", "reference": "%s", "outcome": "paid", "amount": 45000}'
            % (reservation.pk, reference)).encode())
    elif case == "huge_id":
        response = notify(pg, reservation, reference, body=(
            '{"reservation": %d, "reference": "%s", "outcome": "paid", "amount": 45000}'
            % (10**30, reference)).encode())
    elif case == "non_utf8":
        response = notify(pg, reservation, reference, body=b"\xff\xfe{\x00")
    elif case == "huge_body":
        response = notify(pg, reservation, reference, body=b" " * (3 * 1024 * 1024))
    elif case == "wrong_amount":
        response = notify(pg, reservation, reference, amount=1)
    else:
        response = pg.post(URL, data=b"\x00" * 1000, content_type="application/octet-stream")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    expected = {"bad_signature": "invalid_signature", "no_signature": "invalid_signature",
                "unsigned_garbage": "invalid_signature", "unknown_reservation": "unknown_reference",
                "foreign_reference": "unknown_reference", "wrong_amount": "amount_mismatch"}
    assert response.json()["code"] == expected.get(case, "malformed_notification")
    assert snapshot() == before


@pytest.mark.django_db
def test_the_notify_key_comes_from_its_setting(settings):
    settings.VOUCHERS_SANDBOX_NOTIFY_KEY = "k1"
    one = payments.sandbox_sign(b"{}")
    settings.VOUCHERS_SANDBOX_NOTIFY_KEY = "k2"
    assert payments.sandbox_sign(b"{}") != one
    settings.VOUCHERS_SANDBOX_NOTIFY_KEY = ""
    assert payments.sandbox_notify_key() != settings.SECRET_KEY.encode()  # derived, never the secret itself


@pytest.mark.django_db
def test_notify_accepts_only_post(client):
    assert client.get(URL).status_code == 405
