"""The sale's per-session bookkeeping: cached plans are dropped every few seconds, and Django's
per-request health check is skipped only for a session that has just answered a sale."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.vouchers.conftest import assert_invariants
from tests.vouchers.factories import TrancheFactory
from vouchers import services
from vouchers.db import session

pytestmark = pytest.mark.django_db


def buy(tranche, ci):
    return services.purchase_vouchers(tranche_id=tranche.pk, buyer_ci=ci, face_value=10_000, channel="zeropay_app")


def test_a_session_drops_its_cached_plans_once_replan_interval_passed_and_still_sells(monkeypatch):
    tranche = TrancheFactory(medium="mobile")
    buy(tranche, "CI-1")  # prepares the statement in this session
    with CaptureQueriesContext(connection) as fresh:
        buy(tranche, "CI-2")
    assert not any("DISCARD PLANS" in q["sql"] for q in fresh.captured_queries)

    monkeypatch.setattr(session, "REPLAN_EVERY", 0.0)
    with CaptureQueriesContext(connection) as due:
        result = buy(tranche, "CI-3")
    assert [q["sql"] for q in due.captured_queries if "DISCARD PLANS" in q["sql"]] == ["DISCARD PLANS"]
    assert result.buyer_month_purchased == 10_000
    # the prepared statement survives DISCARD PLANS: it is executed, not prepared again
    assert not any(q["sql"].startswith("PREPARE") for q in due.captured_queries)
    assert_invariants()


def test_health_check_is_skipped_only_right_after_this_session_answered(monkeypatch):
    tranche = TrancheFactory(medium="mobile")
    buy(tranche, "CI-1")
    connection.health_check_done = False  # as at the start of a request
    session.skip_health_check_if_fresh()
    assert connection.health_check_done is True

    connection.health_check_done = False
    monkeypatch.setattr(session, "HEALTHY_FOR", 0.0)  # the session has been idle "too long"
    session.skip_health_check_if_fresh()
    assert connection.health_check_done is False


@pytest.mark.django_db(transaction=True)
def test_a_session_closed_behind_our_back_is_checked_and_replaced_not_a_crash():
    tranche = TrancheFactory(medium="mobile")
    buy(tranche, "CI-1")
    old = connection.connection
    old.close()  # e.g. dropped by the driver after a network error
    connection.health_check_done = False  # the next request
    result = buy(tranche, "CI-2")  # health check runs (the session is closed), reconnects, prepares again
    assert result.buyer_month_purchased == 10_000
    assert connection.connection is not old
    assert_invariants()
    connection.close()
