"""Web purchase: reserve → pay → confirm, failure, lapse and release; invariants hold throughout."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from jinju_portal.errors import InvalidInput, RuleViolation
from tests.vouchers.conftest import assert_invariants, race
from tests.vouchers.factories import CitizenFactory, TrancheFactory
from vouchers import payments, services
from vouchers.models import MonthlyUsage, Purchase, Reservation, Tranche, Wallet

pytestmark = pytest.mark.clock  # the 10-minute hold


@pytest.fixture(params=["sql", "sql_unprepared", "orm"])
def path(request, settings):
    settings.VOUCHERS_FAST_SQL = request.param != "orm"
    settings.VOUCHERS_PREPARED_STATEMENTS = request.param == "sql"
    return request.param


@pytest.mark.django_db
def test_reserve_holds_quota_and_usage_then_confirm_credits_the_wallet(path):
    tranche = TrancheFactory(quota=1_000_000)
    citizen = CitizenFactory()
    now = tranche.opens_at + dt.timedelta(minutes=1)
    reservation = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=200_000, now=now)
    assert reservation.status == "held" and reservation.price == 180_000
    assert reservation.expires_at == now + dt.timedelta(minutes=10)
    tranche.refresh_from_db()
    assert tranche.sold == 200_000
    assert MonthlyUsage.objects.get().purchased == 200_000
    assert_invariants()
    # the hold counts against the limit
    with pytest.raises(RuleViolation) as exc:
        services.purchase_vouchers(tranche_id=tranche.pk, citizen=citizen, face_value=110_000, channel="web", now=now)
    assert exc.value.code == "monthly_limit_exceeded"
    purchase = services.confirm_reservation(reservation_id=reservation.pk, payment_reference="sandbox-1",
                                            now=now + dt.timedelta(minutes=3))
    assert (purchase.channel, purchase.face_value, purchase.price) == ("web", 200_000, 180_000)
    assert services.confirm_reservation(reservation_id=reservation.pk).pk == purchase.pk  # twice: same
    tranche.refresh_from_db()
    assert tranche.sold == 200_000  # not claimed twice
    assert Wallet.objects.get().balance == 200_000
    assert_invariants()


@pytest.mark.django_db
@pytest.mark.parametrize("face_value,price", [(5_000, 4_833), (7_000, 6_766), (1_000, 966)])
def test_reservation_price_is_floored_with_a_fractional_discount(path, face_value, price):
    # floor(face × (1 − 0.0333)), API.md: 4,833.5 → 4,833 and 6,766.9 → 6,766, never rounded up
    tranche = TrancheFactory(quota=1_000_000, discount_rate=Decimal("0.0333"))
    reservation = services.reserve_purchase(tranche_id=tranche.pk, citizen=CitizenFactory(), face_value=face_value)
    assert reservation.price == price
    assert Reservation.objects.get(pk=reservation.pk).price == price
    purchase = services.confirm_reservation(reservation_id=reservation.pk)
    assert (purchase.face_value, purchase.price) == (face_value, price)
    assert_invariants()


@pytest.mark.django_db
def test_failed_payment_gives_back_at_once(path):
    tranche = TrancheFactory(quota=1_000_000)
    citizen = CitizenFactory()
    reservation = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=50_000)
    services.fail_reservation(reservation_id=reservation.pk)
    assert Reservation.objects.get().status == "failed"
    assert Tranche.objects.get().sold == 0 and MonthlyUsage.objects.get().purchased == 0
    with pytest.raises(RuleViolation) as exc:
        services.confirm_reservation(reservation_id=reservation.pk)
    assert exc.value.code == "reservation_expired"
    assert_invariants()


@pytest.mark.django_db
def test_lapsed_reservation_is_released_once_and_cannot_be_confirmed(path):
    tranche = TrancheFactory(quota=1_000_000)
    citizen = CitizenFactory()
    now = tranche.opens_at + dt.timedelta(minutes=1)
    reservation = services.reserve_purchase(tranche_id=tranche.pk, citizen=citizen, face_value=100_000, now=now)
    assert services.release_lapsed_reservations(now=now + dt.timedelta(minutes=9, seconds=59)) == 0
    assert services.release_lapsed_reservations(now=now + dt.timedelta(minutes=10)) == 1
    assert services.release_lapsed_reservations(now=now + dt.timedelta(minutes=11)) == 0
    assert Tranche.objects.get().sold == 0 and MonthlyUsage.objects.get().purchased == 0
    with pytest.raises(RuleViolation) as exc:
        services.confirm_reservation(reservation_id=reservation.pk, now=now + dt.timedelta(minutes=12))
    assert exc.value.code == "reservation_expired"
    assert not Purchase.objects.exists()
    assert_invariants()


@pytest.mark.django_db
def test_web_sells_mobile_only(path):
    with pytest.raises(InvalidInput) as exc:
        services.reserve_purchase(tranche_id=TrancheFactory(medium="paper").pk, citizen=CitizenFactory(),
                                  face_value=10_000)
    assert exc.value.code == "invalid_tranche"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_reservations_confirmations_releases_and_sales_racing_keep_invariants():
    tranche = TrancheFactory(quota=2_000_000)
    citizens = [CitizenFactory() for _ in range(8)]
    now = tranche.opens_at + dt.timedelta(minutes=1)
    held = [services.reserve_purchase(tranche_id=tranche.pk, citizen=c, face_value=100_000, now=now) for c in citizens]
    lapse = now + dt.timedelta(minutes=10)
    jobs = ([(services.confirm_reservation, {"reservation_id": r.pk, "now": lapse}) for r in held[:4]]
            + [(services.release_lapsed_reservations, {"now": lapse})] * 3
            + [(services.purchase_vouchers, {"tranche_id": tranche.pk, "citizen": c, "face_value": 200_000,
                                             "channel": "web", "now": lapse}) for c in citizens])
    results = race(lambda fn, kw: fn(**kw), jobs)
    assert not [r for r in results if r[0] == "exc"], results
    confirms, releases = results[:4], results[4:7]
    assert all(r[0] == "ok" or r == ("err", "reservation_expired") for r in confirms)
    confirmed = sum(1 for r in confirms if r[0] == "ok")
    assert Reservation.objects.filter(status="confirmed").count() == confirmed
    # every lapsed hold was released by exactly one of the three racing jobs
    assert sum(r[1] for r in releases) == 8 - confirmed == Reservation.objects.filter(status="released").count()
    # a reservation is either confirmed (with its purchase) or released, never both
    for reservation in Reservation.objects.all():
        assert (reservation.status == "confirmed") == (reservation.purchase_id is not None)
    assert_invariants()


def test_sandbox_gateway_is_labelled_and_only_enabled_by_setting(settings):
    settings.VOUCHERS_SANDBOX_PAYMENTS = True
    gateway = payments.get_gateway()
    assert gateway.is_sandbox and "샌드박스" in str(gateway.name)
    assert gateway.verify(reference="r", amount=1, data={"outcome": "paid"}).paid
    assert not gateway.verify(reference="r", amount=1, data={"outcome": "failed"}).paid
    settings.VOUCHERS_SANDBOX_PAYMENTS = False
    settings.VOUCHERS_PAYMENT_GATEWAY = ""
    with pytest.raises(ImproperlyConfigured):
        payments.get_gateway()
