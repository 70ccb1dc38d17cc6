"""Fixtures of the vouchers tests: races with a barrier, invariant checks, a clean medium cache."""
import threading

import pytest
from django.db import connection
from django.db.models import Sum

from vouchers import services
from vouchers.models import MonthlyUsage, Purchase, Tranche, Wallet


@pytest.fixture(autouse=True)
def _forget_tranche_media():
    services._MEDIUM_CACHE.clear()
    yield
    services._MEDIUM_CACHE.clear()


def race(fn, args_list, timeout=60):
    """Run fn(*args) for each args in its own thread (own DB connection); all start together.
    Returns [("ok", value) | ("err", code_or_exception)] in input order."""
    barrier = threading.Barrier(len(args_list))
    results = [None] * len(args_list)

    def worker(i, args):
        try:
            barrier.wait(timeout=timeout)
            results[i] = ("ok", fn(*args))
        except services.RuleViolation as exc:
            results[i] = ("err", exc.code)
        except services.InvalidInput as exc:
            results[i] = ("err", exc.code)
        except Exception as exc:  # surfaced by the test's assertions
            results[i] = ("exc", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


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
