"""A month's statements in one set-based statement (PostgreSQL): the orders of the month grouped by
(store, operator) as of each operator's mark, the adjustments of earlier closed months; the new
statements inserted, and only the draft ones whose figures differ updated (an issued statement is
never written again; a rebuild with nothing new writes nothing).

Why INSERT … WHERE NOT EXISTS and UPDATE rather than INSERT … ON CONFLICT DO UPDATE: the builds of
one (operator, month) are serialized by the operator's row lock (services.statements), so no other
transaction inserts the same key meanwhile, and a plain insert cost 22–51 ms for 1,350 rows against
39–61 ms for the speculative one (bench/README.md). Were two ever to meet, UNIQUE(store, operator,
month) still refuses the second row. The ORM twin is
delivery.services.statements._build_orm; tests run every rule on both (bench/settlement.py times it).

`ops` is one row per operator built: (operator_id, mark, adj_lo, adj_hi, status). An order counts in
its month as of the mark (reported_at <= mark, not cancelled by then). A change to an order of an
earlier month, after that month's close, counts as an adjustment here when it happened in
(adj_lo, min(mark, adj_hi)): the commission negative for a cancel, positive for a late report. The
candidates of both are read once over the widest window (glo, ghi), through the cancelled_at and
order_reported_late indexes (a few thousand rows), then matched to their operator and month close.
"""
from django.conf import settings
from django.db import connection

from delivery import rules

_BUILD = """
WITH ops AS (
    SELECT * FROM unnest(%(op_ids)s::bigint[], %(marks)s::timestamptz[], %(los)s::timestamptz[],
                         %(his)s::timestamptz[], %(statuses)s::text[])
             AS x(operator_id, mark, adj_lo, adj_hi, status)),
own AS ({own}),
late_cancels AS MATERIALIZED (
    SELECT o.store_id, o.operator_id, o.month, o.commission, o.cancelled_at FROM delivery_order o
    WHERE o.cancelled_at > %(glo)s AND o.cancelled_at < %(ghi)s AND o.month < %(month)s),
late_reports AS MATERIALIZED (
    SELECT o.store_id, o.operator_id, o.month, o.commission, o.reported_at FROM delivery_order o
    WHERE {reported_late} AND o.reported_at > %(glo)s AND o.reported_at < %(ghi)s AND o.month < %(month)s),
adj AS (
    SELECT o.store_id, o.operator_id, -o.commission AS amount
    FROM late_cancels o JOIN ops ON ops.operator_id = o.operator_id
    JOIN delivery_monthclose c ON c.operator_id = o.operator_id AND c.month = o.month
    WHERE o.cancelled_at > ops.adj_lo AND o.cancelled_at < ops.adj_hi AND o.cancelled_at <= ops.mark
      AND o.cancelled_at > c.closed_at
    UNION ALL
    SELECT o.store_id, o.operator_id, o.commission
    FROM late_reports o JOIN ops ON ops.operator_id = o.operator_id
    JOIN delivery_monthclose c ON c.operator_id = o.operator_id AND c.month = o.month
    WHERE o.reported_at > ops.adj_lo AND o.reported_at < ops.adj_hi AND o.reported_at <= ops.mark
      AND o.reported_at > c.closed_at),
adjg AS (SELECT store_id, operator_id, count(*) AS k, sum(amount) AS total FROM adj GROUP BY store_id, operator_id),
fig AS (
    SELECT coalesce(own.store_id, adjg.store_id) AS store_id, coalesce(own.operator_id, adjg.operator_id) AS operator_id,
           coalesce(own.n, 0) AS n, coalesce(own.food, 0) AS food, coalesce(own.comm, 0) AS comm,
           coalesce(adjg.k, 0) AS k, coalesce(adjg.total, 0) AS adj
    FROM own FULL JOIN adjg ON adjg.store_id = own.store_id AND adjg.operator_id = own.operator_id),
calc AS (
    SELECT fig.*, ops.status, floor(fig.food * %(low)s::numeric)::bigint AS low,
           floor(fig.food * %(high)s::numeric)::bigint AS high
    FROM fig JOIN ops ON ops.operator_id = fig.operator_id),
ins AS (
    INSERT INTO delivery_statement (store_id, operator_id, month, status, order_count, food_total, commission,
        commercial_commission_low, commercial_commission_high, saved_low, saved_high, adjustments,
        adjustment_count, built_at)
    SELECT store_id, operator_id, %(month)s, status, n, food, comm, low, high, low - comm, high - comm, adj, k, %(now)s
    FROM calc
    WHERE NOT EXISTS (SELECT 1 FROM delivery_statement s WHERE s.store_id = calc.store_id
                      AND s.operator_id = calc.operator_id AND s.month = %(month)s)
    RETURNING operator_id),
upd AS (
    UPDATE delivery_statement s SET status = calc.status, order_count = calc.n, food_total = calc.food,
        commission = calc.comm, commercial_commission_low = calc.low, commercial_commission_high = calc.high,
        saved_low = calc.low - calc.comm, saved_high = calc.high - calc.comm, adjustments = calc.adj,
        adjustment_count = calc.k, built_at = %(now)s
    FROM calc
    WHERE s.store_id = calc.store_id AND s.operator_id = calc.operator_id AND s.month = %(month)s
      AND s.status = 'draft'
      AND (s.status, s.order_count, s.food_total, s.commission, s.adjustments, s.adjustment_count)
          IS DISTINCT FROM (calc.status, calc.n, calc.food, calc.comm, calc.adj, calc.k)
    RETURNING s.operator_id),
emptied AS (
    UPDATE delivery_statement s SET status = ops.status, order_count = 0, food_total = 0, commission = 0,
        commercial_commission_low = 0, commercial_commission_high = 0, saved_low = 0, saved_high = 0,
        adjustments = 0, adjustment_count = 0, built_at = %(now)s
    FROM ops
    WHERE s.operator_id = ops.operator_id AND s.month = %(month)s AND s.status = 'draft'
      AND NOT EXISTS (SELECT 1 FROM calc WHERE calc.store_id = s.store_id AND calc.operator_id = s.operator_id)
      AND (s.status, s.order_count, s.food_total, s.commission, s.adjustments, s.adjustment_count)
          IS DISTINCT FROM (ops.status, 0, 0, 0, 0, 0)
    RETURNING s.operator_id)
SELECT ops.operator_id,
       (SELECT count(*) FROM ins WHERE ins.operator_id = ops.operator_id),
       (SELECT count(*) FROM upd WHERE upd.operator_id = ops.operator_id),
       (SELECT count(*) FROM emptied WHERE emptied.operator_id = ops.operator_id),
       (SELECT count(*) FROM calc WHERE calc.operator_id = ops.operator_id)
FROM ops
"""

# An order reported after its own month ended (Asia/Seoul): the only ones that can be late reports.
# The partial index order_reported_late (migration 0004) has exactly this predicate, so the late-report
# part reads those few rows instead of every order reported in the month.
REPORTED_LATE = ("o.reported_at >= timezone('Asia/Seoul', make_timestamp(substr(o.month, 1, 4)::int, "
                 "substr(o.month, 6, 2)::int, 1, 0, 0, 0) + interval '1 month')")

# The month's own orders as of each operator's mark. When every operator has the same mark (one build
# closing the month for all, or its rebuild), the filter is a constant one, exactly a report's GROUP BY;
# otherwise each order is joined to its operator's mark.
OWN_ONE_MARK = """
    SELECT o.store_id, o.operator_id, count(*) AS n, sum(o.food_amount) AS food, sum(o.commission) AS comm
    FROM delivery_order o
    WHERE o.month = %(month)s AND o.operator_id = ANY(%(op_ids)s) AND o.reported_at <= %(mark)s
      AND (o.cancelled_at IS NULL OR o.cancelled_at > %(mark)s)
    GROUP BY o.store_id, o.operator_id"""
OWN_BY_OPERATOR = """
    SELECT o.store_id, o.operator_id, count(*) AS n, sum(o.food_amount) AS food, sum(o.commission) AS comm
    FROM delivery_order o JOIN ops ON ops.operator_id = o.operator_id
    WHERE o.month = %(month)s AND o.reported_at <= ops.mark
      AND (o.cancelled_at IS NULL OR o.cancelled_at > ops.mark)
    GROUP BY o.store_id, o.operator_id"""
BUILD_ONE_MARK = _BUILD.format(own=OWN_ONE_MARK, reported_late=REPORTED_LATE)
BUILD = _BUILD.format(own=OWN_BY_OPERATOR, reported_late=REPORTED_LATE)


def fast_sql() -> bool:
    """The set-based build needs PostgreSQL; `make run`'s SQLite (or DELIVERY_FAST_SQL=False) takes the ORM twin."""
    return connection.vendor == "postgresql" and settings.DELIVERY_FAST_SQL


def build(*, month: str, ops: list[dict], now) -> dict:
    """Write `month`'s statements of the operators in `ops` ([{operator_id, mark, adj_lo, adj_hi,
    status}]). Returns {operator_id: {"created", "updated", "emptied", "rows"}} (rows: statements
    with figures as of the mark)."""
    params = {"month": month, "now": now, "low": rules.COMMERCIAL_RATE_LOW, "high": rules.COMMERCIAL_RATE_HIGH,
              "op_ids": [o["operator_id"] for o in ops], "marks": [o["mark"] for o in ops],
              "los": [o["adj_lo"] for o in ops], "his": [o["adj_hi"] for o in ops],
              "statuses": [o["status"] for o in ops],
              "glo": min(o["adj_lo"] for o in ops), "ghi": max(o["adj_hi"] for o in ops)}
    marks = set(params["marks"])
    if len(marks) == 1:
        params["mark"] = marks.pop()
    with connection.cursor() as cursor:
        cursor.execute(BUILD_ONE_MARK if "mark" in params else BUILD, params)
        return {operator_id: {"created": created, "updated": updated, "emptied": emptied, "rows": rows}
                for operator_id, created, updated, emptied, rows in cursor.fetchall()}


def lock_orders_for_close():
    """Wait out every transaction writing orders, and keep new writes out until this one commits: a
    close's mark is then final (no order reported or cancelled before it can still commit after it,
    except one whose time was stamped before this lock and whose row is written after it). Held only
    while a month is being closed (once a month per operator, for the build's few seconds)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        cursor.execute("LOCK TABLE delivery_order IN SHARE MODE")
        cursor.execute("SET LOCAL lock_timeout = DEFAULT")
