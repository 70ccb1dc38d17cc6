"""Running vouchers/db/sql.py's statements on a Django connection: prepared once per database
session, in autocommit outside a transaction (a savepoint inside one), with the session plumbing
that a rush showed to matter (bench/README.md)."""
from django.conf import settings
from django.db import connection

from jinju_portal import db_health
from vouchers.db import sql


def fast_sql() -> bool:
    """The one-statement purchase needs PostgreSQL; `make run`'s SQLite takes the ORM path."""
    return connection.vendor == "postgresql" and settings.VOUCHERS_FAST_SQL


class SaleSession:
    """What the sale path knows about one database session (one per Django connection)."""

    __slots__ = ("raw", "prepared")

    def __init__(self, raw):
        self.raw = raw
        self.prepared = set()


HEALTHY_FOR = db_health.HEALTHY_FOR  # seconds


def skip_health_check_if_fresh():
    """Django's CONN_HEALTH_CHECKS costs a `SELECT 1` round trip on the first query of every request.
    Under a rush that check took as much worker time as the sale itself (py-spy, bench/README.md).
    A session that answered a sale or payment less than HEALTHY_FOR seconds ago is as likely to be
    alive as one that just passed the check, so it is skipped then; idle sessions are still checked
    (jinju_portal/db_health.py)."""
    db_health.skip_if_fresh(HEALTHY_FOR)


def sale_session() -> SaleSession:
    raw = connection.connection
    session = getattr(connection, "_vouchers_session", None)
    if session is None or session.raw is not raw:  # a new database session: nothing is prepared in it yet
        session = SaleSession(raw)
        connection._vouchers_session = session
    return session


# No periodic DISCARD PLANS: the sequential scans it used to cut short came from plans cached while
# the planner's statistics said the tables were empty or tiny (bench/README.md, "seq scans");
# migration vouchers/0006_launch_statistics keeps autovacuum from recording such statistics.


def run(key, params, catalogue=sql) -> dict:
    """Execute one of `catalogue.STATEMENTS` (vouchers.db.sql: the sale; vouchers.db.payments: the
    pay-code payment); as a per-connection prepared statement unless switched off. Returns its one
    row by `catalogue.RESULT_COLUMNS`."""
    if not settings.VOUCHERS_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            cursor.execute(catalogue.STATEMENTS[key], params)
            return dict(zip(catalogue.RESULT_COLUMNS, cursor.fetchone()))
    name, prepare, execute = catalogue.PREPARED[key]
    skip_health_check_if_fresh()
    with connection.cursor() as cursor:  # connects, or reconnects after a failed health check
        session = sale_session()
        if name not in session.prepared:
            cursor.execute(prepare)  # PREPARE is not transactional: it survives a rollback
            session.prepared.add(name)
        cursor.execute(execute, params)
        row = dict(zip(catalogue.RESULT_COLUMNS, cursor.fetchone()))
    db_health.mark_answered()
    return row
