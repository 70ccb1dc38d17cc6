"""Fixtures of the vouchers tests: races with a barrier, invariant checks, a clean medium cache."""

import pytest
from tests.races import race  # noqa: F401  (re-exported for the vouchers tests)
from django.db.models import Sum

from vouchers import inputs
from vouchers.models import MonthlyUsage, Purchase, Tranche, Wallet


@pytest.fixture(autouse=True)
def _forget_tranche_media():
    inputs.forget_tranche_media()
    yield
    inputs.forget_tranche_media()


def assert_invariants():
    """DESIGN.md invariants 1–3 over the whole database."""
    for tranche in Tranche.objects.all():
        live = Purchase.objects.filter(tranche=tranche, status="completed").aggregate(
            s=Sum("face_value", default=0))["s"]
        held = tranche.reservations.filter(status="held").aggregate(s=Sum("face_value", default=0))["s"]
        assert 0 <= tranche.sold <= tranche.quota
        assert tranche.sold == live + held, (tranche, tranche.sold, live, held)
    for usage in MonthlyUsage.objects.all():
        bought = Purchase.objects.filter(citizen=usage.citizen, month=usage.month, status="completed").aggregate(
            s=Sum("face_value", default=0))["s"]
        held = usage.citizen.reservations.filter(month=usage.month, status="held").aggregate(
            s=Sum("face_value", default=0))["s"]
        assert usage.purchased == bought + held <= usage.monthly_limit
    for wallet in Wallet.objects.all():
        entries = list(wallet.entries.order_by("id"))
        assert wallet.balance >= 0
        assert wallet.balance == sum(e.amount for e in entries)
        running = 0
        for entry in entries:
            running += entry.amount
            assert entry.balance_after == running
