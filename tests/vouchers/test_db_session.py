"""The sale's per-session bookkeeping: the statement is prepared once per session and its plans are
kept, and Django's per-request health check is skipped only for a session that has just answered a
sale."""
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


def test_a_session_prepares_the_sale_once_and_keeps_its_plans():
    tranche = TrancheFactory(medium="mobile")
    buy(tranche, "CI-1")  # prepares the statement in this session
    with CaptureQueriesContext(connection) as later:
        result = buy(tranche, "CI-2")
    sql = [q["sql"] for q in later.captured_queries]
    assert not any(q.startswith("PREPARE") or "DISCARD" in q for q in sql)
    assert result.buyer_month_purchased == 10_000
    assert_invariants()


def test_autovacuum_takes_no_statistics_of_the_sales_and_payments_tables_before_1000_changed_rows():
    """Statistics of a tiny table turn cached key lookups into sequential scans (migrations 0006, 0014)."""
    tables = ["vouchers_purchase", "vouchers_wallet", "vouchers_walletentry", "vouchers_citizen",
              "vouchers_monthlyusage", "vouchers_paycode", "vouchers_payment", "vouchers_merchantrefund"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", [tables])
        options = dict(cursor.fetchall())
    assert len(options) == len(tables)
    for table, opts in options.items():
        assert {"autovacuum_analyze_threshold=1000", "autovacuum_vacuum_threshold=1000",
                "autovacuum_vacuum_insert_threshold=1000"} <= set(opts or []), table


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
