"""Building a day of merchant settlements (issue #9) and a month of delivery statements (issue #10),
each against one raw SQL GROUP BY over the same rows.

    .venv/bin/python bench/settlement.py                  # both parts, 3 runs each
    .venv/bin/python bench/settlement.py --part vouchers  # 7,000 merchants, 500,000 rows a day
    .venv/bin/python bench/settlement.py --runs 1 --payments 50000 --exchanges 5000   # a quick look
    .venv/bin/python bench/settlement.py --part delivery  # 450 stores, 100,000 orders in a month

The delivery part: a fresh `jinju_statementbench` (from a migrated template), 3 operators with a 2 %
contract, 450 stores and 100,000 October orders bulk-loaded by SQL (3 % cancelled within the hour),
VACUUM ANALYZE; times one raw GROUP BY (store, operator) of the month's live orders (warm), then
services.build_statements of October as the monthly job runs it on 1 November 03:00 (closing it),
then a rebuild; checks the statements equal the GROUP BY and the rebuild wrote nothing (row
versions); then 1,000 late cancels in November and November's build: its adjustments equal their
commission, October unchanged. Targets: build < 5 s and <= 2x the GROUP BY.

The vouchers part, one run (bench/README.md has the figures):
1. waits for a quiet machine (bench/common.wait_quiet);
2. makes `jinju_settlebench` afresh from a migrated template, and seeds it in bulk SQL: 7,000
   approved merchants, 1,000 wallets, and for day 1 (Tuesday 2026-11-03, Asia/Seoul) 450,000
   payments and 50,000 paper exchanges spread over the day in time order (ids rising with
   created_at, as written live), 2 % of the payments half refunded the same day (9,000 refunds,
   the payments' `refunded` and `status` to match); then VACUUM ANALYZE (an established database);
3. day 1, the first build (no settlement before): times the raw GROUP BY of the day's three tables
   (once untimed to warm the cache, then timed), services.build_settlements of the day (the same
   call as the command and the nightly task), then a rebuild with nothing new;
4. day 2, the steady state: the same volume stamped on day 2 plus 200 late payments stamped on
   day 1 (written after day 1 was built), VACUUM ANALYZE; the GROUP BY of day 2, then the build
   of day 2 (which also reads the rows committed since day 1's build for the late ones), the rebuild;
5. checks: per merchant the settlements' payments, refunds and exchanges equal the rows' sums; the
   late rows are in day 2's settlements; the rebuilds wrote nothing.
After --runs runs every figure as min / median / max. Targets: build < 10 s and <= 2x the GROUP BY.
Exit 1 on a failed check.
"""
import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import PG, psql, spread  # noqa: E402

PROG = "settlement"
DB_NAME = "jinju_settlebench"
TEMPLATE = "jinju_settlebench_template"
KST = ZoneInfo("Asia/Seoul")
DAY1 = dt.date(2026, 11, 3)
DAY2 = DAY1 + dt.timedelta(days=1)
NOW = dt.datetime(2026, 11, 6, 2, 0, tzinfo=KST)
TABLES = ("vouchers_payment", "vouchers_merchantrefund", "vouchers_exchange", "vouchers_settlement")


def start(day):
    return dt.datetime.combine(day, dt.time(), tzinfo=KST)


def seed_static(merchants):
    psql(f"""
        INSERT INTO vouchers_merchantcategory (code, name, excluded, excluded_reason) VALUES ('bench', '벤치', false, '');
        INSERT INTO vouchers_merchant (business_number, name, address, dong, phone, representative, annual_revenue,
                                       accepts_paper, accepts_mobile, code, status, status_reason,
                                       cancelled_for_illegal_exchange, created_at, category_id)
        SELECT lpad(g::text, 10, '0'), '가게 ' || g, '진주시 진주대로 1', '가좌동', '', '대표', 100000000, true, true,
               'B' || lpad(g::text, 7, '0'), 'approved', '', false, '2026-01-01',
               (SELECT id FROM vouchers_merchantcategory)
        FROM generate_series(1, {merchants}) g;
        INSERT INTO vouchers_citizen (ci_hash, name, created_at) SELECT 'bench-' || g, '', now()
        FROM generate_series(1, 1000) g;
        INSERT INTO vouchers_wallet (balance, updated_at, citizen_id) SELECT 0, now(), id FROM vouchers_citizen;
    """, DB_NAME)


def seed_day(day, *, payments, exchanges, merchants, refund_every=50):
    s = start(day).isoformat()
    psql(f"""
        INSERT INTO vouchers_payment (method, amount, refunded, status, idempotency_key, created_at, merchant_id,
                                      wallet_id)
        SELECT 'merchant_qr', (1 + floor(random() * 50))::bigint * 1000, 0, 'paid', '',
               '{s}'::timestamptz + ((g - 1)::float8 / {payments}) * interval '1 day',
               (SELECT min(id) FROM vouchers_merchant) + floor(random() * {merchants})::bigint,
               (SELECT min(id) FROM vouchers_wallet) + floor(random() * 1000)::bigint
        FROM generate_series(1, {payments}) g;
        WITH picked AS (
            SELECT id, merchant_id, amount, created_at FROM vouchers_payment
            WHERE created_at >= '{s}' AND created_at < '{s}'::timestamptz + interval '1 day'
              AND id % {refund_every} = 0)
        INSERT INTO vouchers_merchantrefund (amount, idempotency_key, created_at, merchant_id, payment_id)
        SELECT amount / 2, '', least(created_at + interval '10 minutes',
                                     '{s}'::timestamptz + interval '1 day' - interval '1 second'), merchant_id, id
        FROM picked ORDER BY id;
        UPDATE vouchers_payment p SET refunded = r.amount, status = 'partially_refunded'
        FROM vouchers_merchantrefund r WHERE r.payment_id = p.id
          AND r.created_at >= '{s}' AND r.created_at < '{s}'::timestamptz + interval '1 day';
        INSERT INTO vouchers_exchange (amount, accepted_count, refused_count, idempotency_key, serials, created_at,
                                       merchant_id)
        SELECT n * 10000, n, 0, '', '[]'::jsonb, '{s}'::timestamptz + ((g - 1)::float8 / {exchanges}) * interval '1 day',
               (SELECT min(id) FROM vouchers_merchant) + floor(random() * {merchants})::bigint
        FROM generate_series(1, {exchanges}) g, LATERAL (SELECT 1 + floor(random() * 10)::int AS n) x;
    """, DB_NAME)


def late_payments(day, n=200):
    psql(f"""
        INSERT INTO vouchers_payment (method, amount, refunded, status, idempotency_key, created_at, merchant_id,
                                      wallet_id)
        SELECT 'merchant_qr', 1000, 0, 'paid', 'late', '{start(day).isoformat()}'::timestamptz + interval '23:59:58',
               (SELECT min(id) FROM vouchers_merchant) + g, (SELECT min(id) FROM vouchers_wallet)
        FROM generate_series(0, {n - 1}) g;
    """, DB_NAME)


def vacuum():
    for table in TABLES:
        psql(f"VACUUM ANALYZE {table}", DB_NAME)


GROUP_BY = """
    SELECT merchant_id, sum(p), sum(r), sum(e) FROM (
        SELECT merchant_id, amount AS p, 0 AS r, 0 AS e FROM vouchers_payment
         WHERE created_at >= %(s)s AND created_at < %(e)s
        UNION ALL
        SELECT merchant_id, 0, amount, 0 FROM vouchers_merchantrefund WHERE created_at >= %(s)s AND created_at < %(e)s
        UNION ALL
        SELECT merchant_id, 0, 0, amount FROM vouchers_exchange WHERE created_at >= %(s)s AND created_at < %(e)s
    ) x GROUP BY merchant_id"""


def time_group_by(day):
    import psycopg2

    conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
    try:
        with conn.cursor() as cur:
            params = {"s": start(day), "e": start(day + dt.timedelta(days=1))}
            cur.execute(GROUP_BY, params)  # warm the cache: both timings read warm pages
            cur.fetchall()
            t = time.perf_counter()
            cur.execute(GROUP_BY, params)
            rows = cur.fetchall()
            return time.perf_counter() - t, len(rows)
    finally:
        conn.close()


def time_build(day):
    from django.db import connection

    from vouchers import services

    t = time.perf_counter()
    result = services.build_settlements(date=day, now=NOW)
    elapsed = time.perf_counter() - t
    connection.close()
    return elapsed, result


ROW_VERSIONS = "SELECT md5(string_agg(id || ':' || xmin::text, ',' ORDER BY id)) FROM vouchers_settlement"
CHECK = """
    WITH rows AS (
        SELECT merchant_id, sum(amount) AS p, 0 AS r, 0 AS e FROM vouchers_payment GROUP BY merchant_id
        UNION ALL SELECT merchant_id, 0, sum(amount), 0 FROM vouchers_merchantrefund GROUP BY merchant_id
        UNION ALL SELECT merchant_id, 0, 0, sum(amount) FROM vouchers_exchange GROUP BY merchant_id),
    want AS (SELECT merchant_id, sum(p) p, sum(r) r, sum(e) e FROM rows GROUP BY merchant_id),
    got AS (SELECT merchant_id, sum(payments) p, sum(refunds) r, sum(exchanged) e FROM vouchers_settlement
            GROUP BY merchant_id)
    SELECT count(*) FROM want FULL JOIN got USING (merchant_id)
    WHERE (want.p, want.r, want.e) IS DISTINCT FROM (got.p, got.r, got.e)"""


def one_run(args, env, label):
    from django.db import connection

    quiet = common.wait_quiet(args.quiet_wait, f"run {label}", prog=PROG)
    connection.close()
    common.fresh_database(DB_NAME, env, template=TEMPLATE)
    t = time.perf_counter()
    seed_static(args.merchants)
    seed_day(DAY1, payments=args.payments, exchanges=args.exchanges, merchants=args.merchants)
    vacuum()
    seeded_in = time.perf_counter() - t
    n1 = int(psql("SELECT (SELECT count(*) FROM vouchers_payment) + (SELECT count(*) FROM vouchers_exchange) "
                  "+ (SELECT count(*) FROM vouchers_merchantrefund)", DB_NAME))
    out = {"label": label, "quiet": quiet, "seeded_in": seeded_in, "rows_day": n1}

    out["gb1"], groups = time_group_by(DAY1)
    out["build1"], result = time_build(DAY1)
    out["created1"] = result.created
    versions = psql(ROW_VERSIONS, DB_NAME)
    out["rebuild1"], again = time_build(DAY1)
    out["rebuild1_wrote"] = again.recalculated + again.created
    out["rebuild1_same"] = versions == psql(ROW_VERSIONS, DB_NAME)
    out["groups"] = groups

    seed_day(DAY2, payments=args.payments, exchanges=args.exchanges, merchants=args.merchants)
    late_payments(DAY1)
    vacuum()
    out["gb2"], _ = time_group_by(DAY2)
    out["build2"], result = time_build(DAY2)
    out["created2"] = result.created
    out["rebuild2"], again = time_build(DAY2)
    out["rebuild2_wrote"] = again.recalculated + again.created
    out["late_in_day2"] = int(psql(
        f"SELECT count(*) FROM vouchers_settlement WHERE date = '{DAY2}' AND merchant_id - "
        "(SELECT min(id) FROM vouchers_merchant) < 200", DB_NAME))
    out["mismatches"] = int(psql(CHECK, DB_NAME))
    out["day1_payments"] = int(psql(f"SELECT sum(payments) FROM vouchers_settlement WHERE date = '{DAY1}'", DB_NAME))
    out["day1_rows_payments"] = int(psql(
        f"SELECT sum(amount) FROM vouchers_payment WHERE idempotency_key = '' AND created_at < '{start(DAY2)}'",
        DB_NAME))
    print_run(out)
    return out


def print_run(r):
    print(f"run {r['label']}: {r['rows_day']:,} rows on day 1 (seeded in {r['seeded_in']:.1f} s), "
          f"{r['groups']:,} merchants with rows")
    print(f"  day 1 (first build)   GROUP BY {r['gb1']:.3f} s, build {r['build1']:.3f} s "
          f"(x{r['build1'] / r['gb1']:.2f}, {r['created1']:,} settlements), rebuild {r['rebuild1']:.3f} s "
          f"({r['rebuild1_wrote']} written, row versions {'unchanged' if r['rebuild1_same'] else 'CHANGED'})")
    print(f"  day 2 (steady state)  GROUP BY {r['gb2']:.3f} s, build {r['build2']:.3f} s "
          f"(x{r['build2'] / r['gb2']:.2f}, {r['created2']:,} settlements), rebuild {r['rebuild2']:.3f} s "
          f"({r['rebuild2_wrote']} written)")
    print(f"  checks: {r['mismatches']} merchants whose settlements differ from their rows; day 1's settlements "
          f"{r['day1_payments']:,} = its on-time payments {r['day1_rows_payments']:,}: "
          f"{'yes' if r['day1_payments'] == r['day1_rows_payments'] else 'NO'}")


def print_summary(runs):
    print(f"\n{PROG}: {len(runs)} runs, min / median / max")
    print(f"machine quiet before    {', '.join('yes' if r['quiet']['quiet'] else 'NO' for r in runs)}")
    for key, name in (("gb1", "day 1 GROUP BY s"), ("build1", "day 1 build s"), ("rebuild1", "day 1 rebuild s"),
                      ("gb2", "day 2 GROUP BY s"), ("build2", "day 2 build s"), ("rebuild2", "day 2 rebuild s")):
        print(f"{name:<24}{spread(sorted(r[key] for r in runs), '{:.3f}')}")
    for a, b, name in (("build1", "gb1", "day 1 build / GROUP BY"), ("build2", "gb2", "day 2 build / GROUP BY")):
        print(f"{name:<24}{spread(sorted(r[a] / r[b] for r in runs), '{:.2f}')}")
    worst = max(max(r["build1"], r["build2"]) for r in runs)
    ratio = max(max(r["build1"] / r["gb1"], r["build2"] / r["gb2"]) for r in runs)
    print(f"targets                 build < 10 s: {'met' if worst < 10 else 'MISSED'} ({worst:.2f} s worst); "
          f"<= 2x GROUP BY: {'met' if ratio <= 2 else 'MISSED'} (x{ratio:.2f} worst)")


# --- delivery (issue #10): a month of statements -----------------------------------------------------

D_DB = "jinju_statementbench"
D_TEMPLATE = "jinju_statementbench_template"
D_FIRST, D_MONTH, D_NEXT = "2026-09", "2026-10", "2026-11"
D_CLOSES = {"2026-09": dt.datetime(2026, 10, 1, 3, 0, tzinfo=KST),   # the monthly job's runs
            "2026-10": dt.datetime(2026, 11, 1, 3, 0, tzinfo=KST),
            "2026-11": dt.datetime(2026, 12, 1, 3, 0, tzinfo=KST)}
D_LATE_REPORTS, D_LATE_CANCELS = 200, 500


def d_seed_static(*, stores, operators=3):
    """3 operators with a 2 % contract and `stores` approved stores."""
    psql(f"""
        INSERT INTO delivery_operator (slug, name, business_number, selected_on, agreement_signed_on, status,
                                       status_reason, created_at)
        SELECT 'op-' || g, '운영사 ' || g, lpad((9000000000 + g)::text, 10, '0'), '2020-11-20', '2020-12-15', 'active',
               '', now() FROM generate_series(1, {operators}) g;
        INSERT INTO delivery_commissioncontract (operator_id, rate, effective_from, waiver_monthly_food, note, created_at)
        SELECT id, 0.0200, '2021-01-01', 0, '', now() FROM delivery_operator;
        INSERT INTO delivery_store (business_number, name, category, address, dong, phone, status, status_reason,
                                    approved_at, created_at)
        SELECT lpad((8000000000 + g)::text, 10, '0'), '가게 ' || g, 'chicken', '진주시 진주대로 1', '가좌동', '',
               'approved', '', '2026-01-01', '2026-01-01' FROM generate_series(1, {stores}) g;
    """, D_DB)


def d_seed_month(month, *, stores, orders, operators=3):
    """`orders` orders of `month` spread over it in time order (each at a random store and operator),
    reported as placed, 3 % cancelled within the hour."""
    year, mon = map(int, month.split("-"))
    start = dt.datetime(year, mon, 1, tzinfo=KST)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=KST)
    psql(f"""
        WITH o AS (
            SELECT g, (SELECT min(id) FROM delivery_operator) + floor(random() * {operators})::bigint AS operator_id,
                   (SELECT min(id) FROM delivery_store) + floor(random() * {stores})::bigint AS store_id,
                   (1 + floor(random() * 60))::bigint * 500 AS food,
                   '{start.isoformat()}'::timestamptz + ((g - 1)::float8 / {orders}) * ('{end.isoformat()}'::timestamptz
                                                                                   - '{start.isoformat()}'::timestamptz) AS at
            FROM generate_series(1, {orders}) g)
        INSERT INTO delivery_order (operator_id, store_id, external_id, food_amount, delivery_fee, payment_method,
                                    ordered_at, month, status, contract_id, commission_rate, commission_waived,
                                    commission, request_hash, reported_at, cancelled_at, cancel_reason)
        SELECT o.operator_id, o.store_id, '{month}-' || g, o.food, 3000, 'card', o.at, '{month}',
               CASE WHEN g % 33 = 0 THEN 'cancelled' ELSE 'placed' END, c.id, 0.0200, 0, floor(o.food * 0.02)::bigint,
               md5('{month}' || g), o.at, CASE WHEN g % 33 = 0 THEN o.at + interval '20 minutes' END, ''
        FROM o JOIN delivery_commissioncontract c ON c.operator_id = o.operator_id ORDER BY g;
    """, D_DB)


def d_late_changes():
    """During October, after September closed: 200 September orders reported late (an app was offline),
    and 500 September orders cancelled."""
    psql(f"""
        INSERT INTO delivery_order (operator_id, store_id, external_id, food_amount, delivery_fee, payment_method,
                                    ordered_at, month, status, contract_id, commission_rate, commission_waived,
                                    commission, request_hash, reported_at, cancelled_at, cancel_reason)
        SELECT c.operator_id, (SELECT min(id) FROM delivery_store) + g, 'late-' || g, 25000, 3000, 'card',
               '2026-09-30 22:00+09', '{D_FIRST}', 'placed', c.id, 0.0200, 0, 500, md5('late' || g),
               '2026-10-15 12:00+09', NULL, ''
        FROM generate_series(1, {D_LATE_REPORTS}) g
        JOIN delivery_commissioncontract c ON c.operator_id = (SELECT min(id) FROM delivery_operator) + g % 3;
        UPDATE delivery_order SET status = 'cancelled', cancelled_at = '2026-10-20 12:00+09'
        WHERE id IN (SELECT id FROM delivery_order WHERE month = '{D_FIRST}' AND status = 'placed'
                     AND external_id NOT LIKE 'late-%' ORDER BY id LIMIT {D_LATE_CANCELS});
    """, D_DB)


def d_vacuum():
    for table in ("delivery_order", "delivery_store", "delivery_operator", "delivery_statement", "delivery_monthclose"):
        psql(f"VACUUM ANALYZE {table}", D_DB)


D_GROUP_BY = """
    SELECT store_id, operator_id, count(*) AS n, sum(food_amount) AS food, sum(commission) AS comm
    FROM delivery_order
    WHERE month = %(month)s AND reported_at <= %(mark)s AND (cancelled_at IS NULL OR cancelled_at > %(mark)s)
    GROUP BY store_id, operator_id"""


def d_check(month):
    """Statements of `month` whose own figures differ from the GROUP BY's (or that one side lacks)."""
    want = D_GROUP_BY.replace("%(month)s", f"'{month}'").replace("%(mark)s", f"'{D_CLOSES[month].isoformat()}'")
    return int(psql(f"""
        WITH want AS ({want}),
        got AS (SELECT store_id, operator_id, order_count, food_total, commission FROM delivery_statement
                WHERE month = '{month}' AND order_count > 0)
        SELECT count(*) FROM want w FULL JOIN got g ON g.store_id = w.store_id AND g.operator_id = w.operator_id
        WHERE (w.n, w.food, w.comm) IS DISTINCT FROM (g.order_count, g.food_total, g.commission)""", D_DB))


def d_versions(month):
    return psql("SELECT md5(string_agg(id || ':' || xmin::text, ',' ORDER BY id)) FROM delivery_statement "
                f"WHERE month = '{month}'", D_DB)


def d_time_group_by(month):
    import psycopg2

    conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=D_DB)
    try:
        with conn.cursor() as cur:
            params = {"month": month, "mark": D_CLOSES[month]}
            cur.execute(D_GROUP_BY, params)  # warm the cache: both timings read warm pages
            cur.fetchall()
            t = time.perf_counter()
            cur.execute(D_GROUP_BY, params)
            rows = cur.fetchall()
            return time.perf_counter() - t, len(rows)
    finally:
        conn.close()


def d_time_build(month, now=None, *, cold=False):
    from django.db import connection

    from delivery import services

    if cold:
        connection.close()  # a new database session: its catalog caches are empty (the job's first build)
    connection.ensure_connection()  # the timing starts on an open connection, as the GROUP BY's
    t = time.perf_counter()
    result = services.build_statements(month=month, now=now or D_CLOSES[month])
    return time.perf_counter() - t, result


def delivery_run(args, env, label):
    from django.db import connection

    quiet = common.wait_quiet(args.quiet_wait, f"delivery run {label}", prog=PROG)
    connection.close()
    common.fresh_database(D_DB, env, template=D_TEMPLATE)
    t = time.perf_counter()
    d_seed_static(stores=args.stores)
    d_seed_month(D_FIRST, stores=args.stores, orders=args.orders)
    d_vacuum()
    out = {"label": label, "quiet": quiet, "seeded_in": time.perf_counter() - t}
    # the first month ever (no history): September, closed by the job on 1 October. As the GROUP BY
    # runs once untimed, the process first builds an empty August (its code paths and queries warm)
    d_time_build("2026-08", D_CLOSES[D_FIRST], cold=True)
    out["gb1"], out["groups"] = d_time_group_by(D_FIRST)
    out["build1"], result = d_time_build(D_FIRST)
    out["created1"] = result.created
    out["issued"] = set(result.statuses.values()) == {"issued"}
    september = d_versions(D_FIRST)
    # the steady state: October's orders, and September's late reports and cancels during October
    t = time.perf_counter()
    d_seed_month(D_MONTH, stores=args.stores, orders=args.orders)
    d_late_changes()
    d_vacuum()
    out["seeded_in"] += time.perf_counter() - t
    out["gb2"], _ = d_time_group_by(D_MONTH)
    out["build2"], result = d_time_build(D_MONTH)
    out["created2"] = result.created
    out["issued"] = out["issued"] and set(result.statuses.values()) == {"issued"}
    october = d_versions(D_MONTH)
    out["rebuild2"], again = d_time_build(D_MONTH, D_CLOSES[D_MONTH] + dt.timedelta(hours=1))
    out["rebuild_wrote"] = again.created + again.updated + again.emptied
    out["rebuild_cold"], again_cold = d_time_build(D_MONTH, D_CLOSES[D_MONTH] + dt.timedelta(hours=2), cold=True)
    out["rebuild_wrote"] += again_cold.created + again_cold.updated + again_cold.emptied
    out["rebuild_same"] = october == d_versions(D_MONTH)
    out["september_same"] = september == d_versions(D_FIRST)
    out["mismatches"] = d_check(D_FIRST) + d_check(D_MONTH)
    out["adjustments"] = int(psql(f"SELECT sum(adjustments) FROM delivery_statement WHERE month = '{D_MONTH}'", D_DB))
    out["late_expected"] = int(psql(
        "SELECT coalesce(sum(commission) FILTER (WHERE external_id LIKE 'late-%'), 0)"
        " - coalesce(sum(commission) FILTER (WHERE cancelled_at = '2026-10-20 12:00+09'), 0)"
        f" FROM delivery_order WHERE month = '{D_FIRST}'", D_DB))
    d_print_run(out)
    return out


def d_print_run(r):
    print(f"delivery run {r['label']}: seeded in {r['seeded_in']:.1f} s, {r['groups']:,} (store, operator) groups")
    print(f"  first month (no history)  GROUP BY {r['gb1']:.3f} s, build_statements {r['build1']:.3f} s "
          f"(x{r['build1'] / r['gb1']:.2f}, {r['created1']:,} statements)")
    print(f"  steady state              GROUP BY {r['gb2']:.3f} s, build_statements {r['build2']:.3f} s "
          f"(x{r['build2'] / r['gb2']:.2f}, {r['created2']:,} statements), rebuild {r['rebuild2']:.3f} s "
          f"({r['rebuild_wrote']} written, row versions {'unchanged' if r['rebuild_same'] else 'CHANGED'}); "
          f"rebuild in a new database session {r['rebuild_cold']:.3f} s")
    print(f"  checks: {r['mismatches']} statements differ from the GROUP BY; issued: {'yes' if r['issued'] else 'NO'}; "
          f"October's adjustments {r['adjustments']:,} = September's late reports − late cancels "
          f"{r['late_expected']:,}: {'yes' if r['adjustments'] == r['late_expected'] else 'NO'}; "
          f"September unchanged: {'yes' if r['september_same'] else 'NO'}")


def delivery_part(args, env):
    print(f"{PROG} (delivery): {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {args.runs} runs, "
          f"{args.stores:,} stores, {args.orders:,} orders a month, git {common.git_head()}")
    psql(f"DROP DATABASE IF EXISTS {D_TEMPLATE} WITH (FORCE)")
    common.fresh_database(D_TEMPLATE, {**env, "DATABASE_URL": common.db_url(D_TEMPLATE)})
    runs = [delivery_run(args, env, str(i + 1)) for i in range(args.runs)]
    print(f"\n{PROG} (delivery): {len(runs)} runs, min / median / max")
    print(f"machine quiet before    {', '.join('yes' if r['quiet']['quiet'] else 'NO' for r in runs)}")
    for key, name in (("gb1", "first GROUP BY s"), ("build1", "first build s"), ("gb2", "steady GROUP BY s"),
                      ("build2", "steady build s"), ("rebuild2", "steady rebuild s"),
                      ("rebuild_cold", "rebuild, new session s")):
        print(f"{name:<24}{spread(sorted(r[key] for r in runs), '{:.3f}')}")
    for a, b, name in (("build1", "gb1", "first build / GROUP BY"), ("build2", "gb2", "steady build / GROUP BY")):
        print(f"{name:<24}{spread(sorted(r[a] / r[b] for r in runs), '{:.2f}')}")
    worst = max(max(r["build1"], r["build2"]) for r in runs)
    ratio = max(max(r["build1"] / r["gb1"], r["build2"] / r["gb2"]) for r in runs)
    print(f"targets                 build < 5 s: {'met' if worst < 5 else 'MISSED'} ({worst:.2f} s worst); "
          f"<= 2x GROUP BY: {'met' if ratio <= 2 else 'MISSED'} (x{ratio:.2f} worst)")
    psql(f"DROP DATABASE IF EXISTS {D_TEMPLATE} WITH (FORCE)")
    if not args.keep_db:
        psql(f"DROP DATABASE IF EXISTS {D_DB} WITH (FORCE)")
    return all(r["mismatches"] == 0 and r["rebuild_wrote"] == 0 and r["rebuild_same"] and r["issued"]
               and r["september_same"] and r["adjustments"] == r["late_expected"] for r in runs)


def vouchers_part(args, env):
    from vouchers import rules

    rules.next_business_day(DAY1)  # the holiday calendar is loaded once per process (~0.7 s), not per build
    print(f"{PROG}: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {args.runs} runs, "
          f"{args.merchants:,} merchants, {args.payments:,} payments + {args.exchanges:,} exchanges a day, "
          f"git {common.git_head()}")
    psql(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    common.fresh_database(TEMPLATE, {**env, "DATABASE_URL": common.db_url(TEMPLATE)})
    runs = [one_run(args, env, str(i + 1)) for i in range(args.runs)]
    print_summary(runs)
    psql(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    return all(r["mismatches"] == 0 and r["rebuild1_wrote"] == 0 and r["rebuild2_wrote"] == 0 and r["rebuild1_same"]
               and r["day1_payments"] == r["day1_rows_payments"] and r["late_in_day2"] == 200 for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("vouchers", "delivery", "both"), default="both",
                        help="vouchers: daily merchant settlements; delivery: a month of statements")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--merchants", type=int, default=7_000)
    parser.add_argument("--payments", type=int, default=450_000, help="payments a day")
    parser.add_argument("--exchanges", type=int, default=50_000, help="paper exchanges a day")
    parser.add_argument("--stores", type=int, default=450, help="delivery stores")
    parser.add_argument("--orders", type=int, default=100_000, help="delivery orders in the month")
    parser.add_argument("--keep-db", action="store_true", help="keep jinju_statementbench for EXPLAIN afterwards")
    parser.add_argument("--quiet-wait", type=int, default=600, help="wait this long at most for a quiet machine")
    args = parser.parse_args()

    parts = ("vouchers", "delivery") if args.part == "both" else (args.part,)
    envs = {"vouchers": common.server_env(db=DB_NAME, port=0, workers=1),
            "delivery": common.server_env(db=D_DB, port=0, workers=1)}
    common.use_env_here(envs[parts[0]])
    import django
    from django.db import connections

    django.setup()
    ok = True
    for part in parts:
        connections.close_all()
        connections["default"].settings_dict["NAME"] = DB_NAME if part == "vouchers" else D_DB
        ok = (vouchers_part if part == "vouchers" else delivery_part)(args, envs[part]) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
