"""Django's per-request connection health check, skipped for a session that has just answered.

With CONN_HEALTH_CHECKS = True Django sends `SELECT 1` before the first query of every request. Under a
rush that round trip waited for a busy PostgreSQL as long as the sale itself (py-spy, bench/README.md).
A session that answered a hot path's query less than HEALTHY_FOR seconds ago is as likely to be alive
as one that just passed the check, so the hot paths skip it then; idle sessions, and sessions the
driver saw close, are still checked. The sale and the POS payment mark their answers
(vouchers/db/session.py); the API key lookup, the first query of a request whose key is not in the
process's cache, skips the check on the same terms (jinju_portal/api/authentication.py).
"""
import time

from django.db import connection

HEALTHY_FOR = 1.0  # seconds


def mark_answered() -> None:
    """The current database session has just answered a query."""
    connection._answered_at = (connection.connection, time.monotonic())


def skip_if_fresh(healthy_for: float | None = None) -> None:
    """Mark this request's health check done if the session answered less than `healthy_for`
    (default HEALTHY_FOR) seconds ago and the driver has not seen it close."""
    answered = getattr(connection, "_answered_at", None)
    raw = connection.connection
    limit = HEALTHY_FOR if healthy_for is None else healthy_for
    if (answered is not None and raw is not None and answered[0] is raw and not raw.closed
            and time.monotonic() - answered[1] < limit):
        connection.health_check_done = True
