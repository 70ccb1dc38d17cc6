"""The settlement build's set-based SQL (bench/settlement.py: 7,000 merchants, 500,000 rows a day).

A settlement covers, for its merchant, the rows whose Seoul day is up to its `date` and whose id is
up to its marks, less the rectangle the settlement before it covered (its `base_*`). So the rows
of one settlement are two disjoint parts, each read with an index:

- its own days: day in (base_date, date], id <= mark — a range of `created_at` (the
  (merchant, created_at) indexes, or one scan of the day);
- late rows: day <= base_date, id in (base mark, mark] — rows committed after the settlement
  before was built; a range of ids (the primary key), empty when nothing arrived late.

services/settlements.py explains why this loses and double-counts nothing. Money is summed as
bigint; every row here is written by the services with the same figures as the ORM would.
"""
import datetime as dt

from django.db import connection

TABLES = (("p", "vouchers_payment"), ("r", "vouchers_merchantrefund"), ("e", "vouchers_exchange"))
FAR_PAST = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)

# `w` (one row per target settlement: i, merchant_id, lo, hi, lo_day, hi_day, bp, br, be) comes first.
# Own days: the window [glo, ghi) summed per merchant (and Seoul day) first — the same GROUP BY as a
# report over the day — then matched to the targets (7,000 rows), never 450,000 rows to 7,000.
_OWN_ONE_DAY = """
    SELECT w.i, '{k}' AS kind, a.total
    FROM (SELECT merchant_id, sum(amount)::bigint AS total FROM {table}
          WHERE id <= %(h{k})s AND created_at >= %(glo)s AND created_at < %(ghi)s GROUP BY merchant_id) a
    JOIN w ON w.merchant_id = a.merchant_id"""
_OWN_DAYS = """
    SELECT w.i, '{k}' AS kind, sum(a.total)::bigint AS total
    FROM (SELECT merchant_id, (created_at AT TIME ZONE 'Asia/Seoul')::date AS day, sum(amount)::bigint AS total
          FROM {table} WHERE id <= %(h{k})s AND created_at >= %(glo)s AND created_at < %(ghi)s GROUP BY 1, 2) a
    JOIN w ON w.merchant_id = a.merchant_id AND a.day >= w.lo_day AND a.day < w.hi_day
    GROUP BY w.i"""
# Days before the window, for a target whose settlement before is older (a new merchant, or one
# whose chain was rebuilt back): one short range of the (merchant, created_at) index each.
_OWN_BEFORE = """
    SELECT w.i, '{k}' AS kind, s.total
    FROM w CROSS JOIN LATERAL (
        SELECT sum(x.amount)::bigint AS total FROM {table} x
        WHERE x.merchant_id = w.merchant_id AND x.created_at >= w.lo AND x.created_at < %(glo)s
          AND x.id <= %(h{k})s) s
    WHERE w.lo < %(glo)s AND s.total IS NOT NULL"""
# Late rows: committed after the settlement before was built, stamped on a day it covered.
_LATE = """
    SELECT w.i, '{k}' AS kind, sum(x.amount)::bigint AS total
    FROM w JOIN {table} x ON x.merchant_id = w.merchant_id AND x.id > w.b{k} AND x.created_at < w.lo
    WHERE x.id > %(low{k})s AND x.id <= %(h{k})s AND x.created_at < %(glo)s
    GROUP BY w.i"""

WINDOWS = """
    w AS (SELECT i, merchant_id, bp, br, be,
                 CASE WHEN base_date IS NULL THEN %(far_past)s
                      ELSE (base_date + 1)::timestamp AT TIME ZONE 'Asia/Seoul' END AS lo,
                 (date + 1)::timestamp AT TIME ZONE 'Asia/Seoul' AS hi,
                 coalesce(base_date + 1, '-infinity'::date) AS lo_day, date + 1 AS hi_day
          FROM t)"""


def sums_query(*, one_day: bool, before: set, late: set) -> str:
    """UNION ALL of the parts that can hold rows: (i, kind p|r|e, total) per target. `glo` is the start
    of the earliest target day. `before` and `late` name the tables (p, r, e) whose earlier-days and
    late parts can hold anything (a part known empty is left out rather than probed 7,000 times)."""
    own = _OWN_ONE_DAY if one_day else _OWN_DAYS
    parts = [own.format(k=k, table=table) for k, table in TABLES]
    parts += [_OWN_BEFORE.format(k=k, table=table) for k, table in TABLES if k in before]
    parts += [_LATE.format(k=k, table=table) for k, table in TABLES if k in late]
    return "\nUNION ALL".join(parts)


def _parts_needed(params, *, any_before: bool) -> tuple[set, set]:
    """Which tables have rows before the window at all (none on a new system), and which have ids in
    a late range (none when nothing was written since the last build)."""
    before = set()
    if any_before:
        with connection.cursor() as cursor:
            for k, table in TABLES:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE created_at < %s AND id <= %s)",
                               [params["glo"], params[f"h{k}"]])
                if cursor.fetchone()[0]:
                    before.add(k)
    late = {k for k, _table in TABLES if params[f"low{k}"] < params[f"h{k}"]}
    return before, late


def marks() -> dict:
    """The highest id of each table, taken when no transaction is writing to them: LOCK … IN SHARE
    MODE waits for every transaction that inserted (or updated) a payment, a refund or an exchange to
    commit or roll back, and lets new ones start only after it is released. Every row with an id up
    to these marks is therefore final (committed or never), and every row still to come gets a
    higher id (the identity sequences hand out increasing ids, cache 1). Must run in its own short
    transaction: it holds up payments for as long as the slowest one in flight."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '10s'")
        cursor.execute("LOCK TABLE vouchers_payment, vouchers_merchantrefund, vouchers_exchange IN SHARE MODE")
        cursor.execute("SELECT (SELECT coalesce(max(id), 0) FROM vouchers_payment),"
                       " (SELECT coalesce(max(id), 0) FROM vouchers_merchantrefund),"
                       " (SELECT coalesce(max(id), 0) FROM vouchers_exchange)")
        hp, hr, he = cursor.fetchone()
    return {"hp": hp, "hr": hr, "he": he}


def at_least_recorded(marks: dict) -> dict:
    """`marks` raised to the highest marks already written on a cursor (under the build lock): the
    marks of successive builds never go back, whatever order the builds took them in."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(payment_hwm), 0), coalesce(max(refund_hwm), 0),"
                       " coalesce(max(exchange_hwm), 0) FROM vouchers_settlementcursor")
        recorded = dict(zip(("hp", "hr", "he"), cursor.fetchone()))
    return {k: max(marks[k], recorded[k]) for k in ("hp", "hr", "he")}


def _bounds(params: dict, days, his, bases) -> dict:
    """The global ranges every part also filters on, so the planner can scan one range."""
    params = dict(params)
    params["far_past"] = FAR_PAST
    params["glo"] = _seoul_start(min(days))
    params["ghi"] = max(his)
    for k in "pre":
        known = [b[k] for b in bases if b is not None]
        params[f"low{k}"] = min(known) if known else params[f"h{k}"]
    return params


def _seoul_start(day: dt.date) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo("Asia/Seoul"))


def build_new(*, day: dt.date, pay_on: dt.date, marks: dict, now: dt.datetime) -> dict:
    """The nightly case in one statement: for every merchant whose cursor is before `day` (or who has
    none), the settlement of `day` covering everything since its cursor (inserted only when it has a
    row), and every such merchant's cursor moved to (`day`, marks). No event: a new settlement row is
    its own record (as a Purchase is), with `calculated_at`; changes to it are events. Returns counts.
    Every target here has hi = the end of `day` and lo <= its start, so the day's rows are summed
    per merchant exactly as a report's GROUP BY would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(payment_hwm), min(refund_hwm), min(exchange_hwm) FROM vouchers_settlementcursor"
                       " WHERE date < %s", [day])
        lows = cursor.fetchone()
    params = {**marks, "day": day, "pay_on": pay_on, "now": now, "far_past": FAR_PAST,
              "glo": _seoul_start(day), "ghi": _seoul_start(day + dt.timedelta(days=1))}
    for k, low in zip("pre", lows):
        params[f"low{k}"] = low if low is not None else marks[f"h{k}"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM vouchers_merchant m LEFT JOIN vouchers_settlementcursor c"
                       " ON c.merchant_id = m.id WHERE c.merchant_id IS NULL OR c.date < %s - 1)", [day])
        any_before = cursor.fetchone()[0]
    before, late = _parts_needed(params, any_before=any_before)
    sql = f"""
    WITH t AS (
        SELECT m.id AS i, m.id AS merchant_id, %(day)s::date AS date, c.date AS base_date,
               coalesce(c.payment_hwm, 0) AS bp, coalesce(c.refund_hwm, 0) AS br, coalesce(c.exchange_hwm, 0) AS be
        FROM vouchers_merchant m LEFT JOIN vouchers_settlementcursor c ON c.merchant_id = m.id
        WHERE c.merchant_id IS NULL OR c.date < %(day)s),
    {WINDOWS},
    parts AS ({sums_query(one_day=True, before=before, late=late)}),
    fig AS (SELECT i AS merchant_id,
                   coalesce(sum(total) FILTER (WHERE kind = 'p'), 0) AS p,
                   coalesce(sum(total) FILTER (WHERE kind = 'r'), 0) AS r,
                   coalesce(sum(total) FILTER (WHERE kind = 'e'), 0) AS e
            FROM parts GROUP BY i),
    calc AS (SELECT f.merchant_id, f.p, f.r, f.e, coalesce(prev.carry_out, 0) AS carried,
                    f.p - f.r + f.e + coalesce(prev.carry_out, 0) AS total, t.base_date, t.bp, t.br, t.be
             FROM fig f JOIN t ON t.merchant_id = f.merchant_id
             LEFT JOIN LATERAL (SELECT s.carry_out FROM vouchers_settlement s
                                WHERE s.merchant_id = f.merchant_id AND s.date < %(day)s
                                ORDER BY s.date DESC LIMIT 1) prev ON true
             WHERE f.p > 0 OR f.r > 0 OR f.e > 0),
    ins AS (
        INSERT INTO vouchers_settlement (merchant_id, date, payments, refunds, exchanged, carried, amount_due,
                                         carry_out, pay_on, status, base_date, base_payment_id, base_refund_id,
                                         base_exchange_id, payment_hwm, refund_hwm, exchange_hwm, calculated_at)
        SELECT merchant_id, %(day)s, p, r, e, carried, greatest(total, 0), least(total, 0), %(pay_on)s,
               'calculated', base_date, bp, br, be, %(hp)s, %(hr)s, %(he)s, %(now)s
        FROM calc
        RETURNING 1),
    cur AS (
        INSERT INTO vouchers_settlementcursor (merchant_id, date, payment_hwm, refund_hwm, exchange_hwm)
        SELECT merchant_id, %(day)s, %(hp)s, %(hr)s, %(he)s FROM t
        ON CONFLICT (merchant_id) DO UPDATE SET date = EXCLUDED.date, payment_hwm = EXCLUDED.payment_hwm,
            refund_hwm = EXCLUDED.refund_hwm, exchange_hwm = EXCLUDED.exchange_hwm
        RETURNING 1)
    SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM cur)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created, cursors = cursor.fetchone()
    return {"created": created, "cursors": cursors}


def sums_for(targets: list[dict], marks: dict, *, day: dt.date) -> dict:
    """Figures of a rebuild's targets, {settlement id: {"p", "r", "e"}}: every settlement from `day` on
    of the merchants whose settlement of `day` is still calculated, the first from its stored base,
    each later one from the one before it at the new marks. `targets` are the same in Python
    ({i: id, merchant_id, date, base_date, bp, br, be}), for the bounds; the statement derives them
    itself (7,000 targets as literal arrays cost more to send and plan than to sum)."""
    if not targets:
        return {}
    his = [_seoul_start(t["date"] + dt.timedelta(days=1)) for t in targets]
    bases = [None if t["base_date"] is None else {"p": t["bp"], "r": t["br"], "e": t["be"]} for t in targets]
    params = _bounds({**marks, "day": day}, [t["date"] for t in targets], his, bases)
    first_day = min(t["date"] for t in targets)
    before, late = _parts_needed(params, any_before=any(
        t["base_date"] is None or t["base_date"] + dt.timedelta(days=1) < first_day for t in targets))
    sql = f"""
    WITH c AS (SELECT s.id, s.merchant_id, s.date, s.base_date, s.base_payment_id, s.base_refund_id,
                      s.base_exchange_id
               FROM vouchers_settlement e
               JOIN LATERAL (SELECT * FROM vouchers_settlement s
                             WHERE s.merchant_id = e.merchant_id AND s.date >= e.date) s ON true
               WHERE e.date = %(day)s AND e.status = 'calculated'),
    t AS (SELECT id AS i, merchant_id, date,
                 CASE WHEN date = %(day)s THEN base_date ELSE lag(date) OVER m END AS base_date,
                 CASE WHEN date = %(day)s THEN base_payment_id ELSE %(hp)s END AS bp,
                 CASE WHEN date = %(day)s THEN base_refund_id ELSE %(hr)s END AS br,
                 CASE WHEN date = %(day)s THEN base_exchange_id ELSE %(he)s END AS be
          FROM c WINDOW m AS (PARTITION BY merchant_id ORDER BY date)),
    {WINDOWS}
    {sums_query(one_day=len({t["date"] for t in targets}) == 1, before=before, late=late)}
    """
    out = {t["i"]: {"p": 0, "r": 0, "e": 0} for t in targets}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for i, kind, total in cursor.fetchall():
            out[i][kind] += total or 0
    return out


# Read through the (merchant, date) unique index whatever the statistics say: right after a build
# the table has thousands of rows its statistics have never seen, and a semi-join planned on "0 rows"
# became a nested loop over seq scans (16 s for 7,000 merchants in bench/settlement.py).
CHAINS_FROM = """
    SELECT s.* FROM vouchers_settlement e
    JOIN LATERAL (SELECT * FROM vouchers_settlement s
                  WHERE s.merchant_id = e.merchant_id AND s.date >= e.date) s ON true
    WHERE e.date = %s AND e.status = 'calculated'
    ORDER BY s.merchant_id, s.date"""


def carried_before(merchant_ids, day) -> dict:
    """{merchant_id: carry_out of its last settlement before `day`} (merchants with one)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT m, prev.carry_out FROM unnest(%s::bigint[]) AS m
            CROSS JOIN LATERAL (SELECT carry_out FROM vouchers_settlement
                                WHERE merchant_id = m AND date < %s ORDER BY date DESC LIMIT 1) prev""",
                       [list(merchant_ids), day])
        return dict(cursor.fetchall())
