"""Building a day of merchant settlements, against one raw SQL GROUP BY over the same rows (issue #9).

    .venv/bin/python bench/settlement.py                  # 3 runs: 7,000 merchants, 500,000 rows a day
    .venv/bin/python bench/settlement.py --runs 1 --payments 50000 --exchanges 5000   # a quick look

One run (bench/README.md has the figures):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--merchants", type=int, default=7_000)
    parser.add_argument("--payments", type=int, default=450_000, help="payments a day")
    parser.add_argument("--exchanges", type=int, default=50_000, help="paper exchanges a day")
    parser.add_argument("--quiet-wait", type=int, default=600, help="wait this long at most for a quiet machine")
    args = parser.parse_args()

    env = common.server_env(db=DB_NAME, port=0, workers=1)
    common.use_env_here(env)
    import django

    django.setup()
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
    ok = all(r["mismatches"] == 0 and r["rebuild1_wrote"] == 0 and r["rebuild2_wrote"] == 0 and r["rebuild1_same"]
             and r["day1_payments"] == r["day1_rows_payments"] and r["late_in_day2"] == 200 for r in runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
