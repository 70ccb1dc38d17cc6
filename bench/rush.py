"""Sale-opening rush as partners send it: sell a whole tranche over HTTP through a cold server, then check the invariants.

    .venv/bin/python bench/rush.py                      # 10,000 new buyers + 2,500 coming back, 100,000원 each, 3 runs
    .venv/bin/python bench/rush.py --runs 1 --buyers 2000   # a quick look

One run (bench/README.md has the figures and what moved them):
1. drops and creates the database `jinju_bench` and migrates it: a launch-day database, nothing
   else (no citizens, no VACUUM/ANALYZE);
2. creates the tranches (rush, latency, two for pgbench) and a `sales_agent` API key;
3. rush: starts gunicorn cold (fresh processes, no request before wrk's first), wrk at 200
   connections; every request carries its own Idempotency-Key, buyers are created by their first
   purchase, one request in five is a buyer from a little earlier coming back for a second
   purchase; stopped half a second after the tranche is sold out; `sold` is read every 0.25 s and
   CPU is split by process; seq scans / rows read / index scans per table are taken around it;
4. latency run: a second cold server, wrk at 16 connections for 10 s on a large tranche, same
   request mix;
5. invariants 1–3 in SQL (sold == sum of live purchases <= quota; usage == purchases and <= limit;
   wallet == ledger and >= 0);
6. pgbench at 50 clients: the app's own sale statement (vouchers.db.sql.pgbench_script, -M
   prepared like the app), and the minimal 3-statement sale (usage upsert, conditional tranche
   update, purchase insert) that HTTP sales/s are divided by.
After --runs runs (default 3) every figure is printed as min / median / max. Exit status 1 if an
invariant broke or any 5xx was answered in any run.

Needs `wrk` and `pgbench` (Debian: apt-get install -y wrk postgresql-client).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402  (the helpers rush.py and payments.py share)
from bench.common import (PG, RESULTS, ROOT, WRK_REPORT_LUA, ms, need, psql, rate_by_phase, spread, stop_server, worker_pids,  # noqa: E402,F401,E501
                          worker_rss_mb)

DB_NAME = "jinju_bench"
PORT = 8123
# A returning buyer is one who first bought RETURN_LAG blocks of five requests earlier (~300
# requests, more than are in flight at 200 connections), so the first purchase has usually been
# answered: the second meets an existing citizen, usage and wallet row.
RETURN_LAG = 60
STAT_TABLES = ("vouchers_purchase", "vouchers_wallet", "vouchers_walletentry", "vouchers_citizen",
               "vouchers_monthlyusage", "vouchers_tranche", "portal_idempotencyrecord")
LEDGER_TABLES = ("vouchers_purchase", "vouchers_wallet", "vouchers_walletentry")

LUA = r"""
-- Logical request i (thread t of n sends i = t, t+n, t+2n, …) in blocks of five: four new buyers
-- 4b…4b+3, then buyer 4(b-LAG)+(b mod 4) coming back (a new buyer 'x<b>' in the first LAG blocks).
-- Every request has its own Idempotency-Key (a retry would reuse it; wrk does not retry).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1]); key = args[2]; tranche = args[3]; face = args[4]
  prefix = args[5]; lag = tonumber(args[6])
  counter = 0; counts = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token " .. key
end

function request()
  local i = tid + counter * nthreads
  counter = counter + 1
  local b = math.floor(i / 5)
  local pos = i % 5
  local buyer
  if pos < 4 then
    buyer = tostring(4 * b + pos)
  elseif b >= lag then
    buyer = tostring(4 * (b - lag) + (b % 4))
  else
    buyer = "x" .. b
  end
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. i
  return wrk.format(nil, nil, nil,
    '{"tranche":' .. tranche .. ',"buyer_ci":"' .. prefix .. '-buyer-' .. buyer .. '","face_value":' .. face .. '}')
end

""" + WRK_REPORT_LUA


def server_env(workers):
    return common.server_env(db=DB_NAME, port=PORT, workers=workers)


def wait_quiet(max_wait, label):
    return common.wait_quiet(max_wait, label, prog="rush")


# --- database ---------------------------------------------------------------------------------------

def fresh_database(env):
    common.fresh_database(DB_NAME, env)


def setup_data(*, rush_quota):
    """Tranches and a key, written with Django against the bench database. No buyers: on launch day
    every citizen, usage row and wallet is created by the first purchase."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from jinju_portal.services import issue_api_key
    from vouchers.models import Tranche

    now = timezone.now()
    common = dict(medium="mobile", discount_rate="0.1000", opens_at=now - timezone.timedelta(minutes=1),
                  closes_at=now + timezone.timedelta(days=1))
    ids = {
        "rush": Tranche.objects.create(name="벤치 1월 모바일", quota=rush_quota, **common).pk,
        "latency": Tranche.objects.create(name="벤치 지연시간", quota=10**15, **common).pk,
        "pgbench": Tranche.objects.create(name="벤치 pgbench", quota=10**15, **common).pk,
        "minimal": Tranche.objects.create(name="벤치 pgbench 최소", quota=10**15, **common).pk,
    }
    _, key = issue_api_key(name="벤치 판매대행", role="sales_agent")
    connection.close()
    return ids, key


def table_stats():
    return common.table_stats(DB_NAME, STAT_TABLES)


def planner_view():
    return common.planner_view(DB_NAME, STAT_TABLES)


def wait_sessions_gone():
    common.wait_sessions_gone(DB_NAME)


# --- server -----------------------------------------------------------------------------------------

def start_server(env, workers):
    return common.start_server(env, workers, log_name="rush-gunicorn.log", prog="rush")


def cpu_ticks_by_group(master_pid):
    return common.cpu_ticks_by_group(master_pid, DB_NAME)


def run_wrk(*, connections, seconds, key, tranche, face, prefix, stop_on_sold_out, server_pid, threads=2,
            analyze_at=0, py_spy=0, run_label=""):
    """wrk with the Lua above. With stop_on_sold_out, wrk is interrupted (it then prints its summary)
    half a second after the tranche's remaining quota drops below one face value; meanwhile the
    tranche's `sold` is read every 0.25 s (the per-second sale rate) and CPU use is split by process.
    analyze_at: ANALYZE the sale's tables once that many purchases are sold (what autovacuum does at
    its default thresholds), to show what planner statistics of a tiny table do to cached plans.
    py_spy: record one worker for that many seconds from the start (bench/results/)."""
    import psycopg2

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        script = f.name
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
           f"http://127.0.0.1:{PORT}/api/v1/vouchers/purchases/", "--",
           str(threads), key, str(tranche), str(face), prefix, str(RETURN_LAG)]
    cpu_before, t_before = cpu_ticks_by_group(server_pid), time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spy = None
    if py_spy:
        RESULTS.mkdir(exist_ok=True)
        target = worker_pids(server_pid)[0]
        spy = subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--pid", str(target), "-d",
                                str(py_spy), "-r", "200", "-f", "raw", "-o",
                                str(RESULTS / f"py-spy-{run_label}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = []  # (seconds since start, purchases so far)
    analyzed = None
    if stop_on_sold_out:
        conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
        conn.autocommit = True
        start = time.monotonic()
        with conn.cursor() as cur:
            while proc.poll() is None:
                time.sleep(0.05 if analyze_at and analyzed is None else 0.25)
                cur.execute("SELECT quota - sold, sold FROM vouchers_tranche WHERE id = %s", [tranche])
                remaining, sold = cur.fetchone()
                progress.append((time.monotonic() - start, sold // face))
                if analyze_at and analyzed is None and sold // face >= analyze_at:
                    cur.execute("ANALYZE " + ", ".join(t for t in STAT_TABLES if t != "vouchers_tranche"))
                    analyzed = sold // face
                if remaining < face:
                    time.sleep(0.5)
                    proc.send_signal(signal.SIGINT)
                    break
        conn.close()
    stdout, stderr = proc.communicate()
    after, elapsed = cpu_ticks_by_group(server_pid), time.monotonic() - t_before
    cpu = common.cpu_percent(cpu_before, after, elapsed)
    if spy is not None:
        spy.wait(timeout=py_spy + 30)
    os.unlink(script)
    line = next((l for l in stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit("rush: wrk printed no result:\n" + stdout + stderr)
    result = json.loads(line[len("RESULT "):])
    result.update(cpu=cpu, progress=progress, analyzed_at=analyzed)
    return result


def sold_window(tranche_id):
    row = psql(f"SELECT count(*), coalesce(sum(face_value),0), "
               f"extract(epoch from max(created_at) - min(created_at)) FROM vouchers_purchase "
               f"WHERE tranche_id = {tranche_id} AND status <> 'cancelled'", DB_NAME)
    count, total, seconds = row.split("|")
    return int(count), int(total), float(seconds or 0)


def buyers_of(tranche_id):
    row = psql(f"SELECT count(DISTINCT citizen_id), count(*) - count(DISTINCT citizen_id) FROM vouchers_purchase "
               f"WHERE tranche_id = {tranche_id}", DB_NAME)
    distinct, second = row.split("|")
    return int(distinct), int(second)


def check_invariants():
    """Invariants 1–3 over the whole bench database; returns a list of violations (empty is good)."""
    checks = {
        "1: sold == sum of live purchases and <= quota": """
            SELECT t.id FROM vouchers_tranche t
             WHERE t.sold <> (SELECT coalesce(sum(face_value), 0) FROM vouchers_purchase p
                               WHERE p.tranche_id = t.id AND p.status <> 'cancelled')
                OR t.sold > t.quota""",
        "2: nobody above the month's limit": """
            SELECT citizen_id FROM vouchers_monthlyusage WHERE purchased > monthly_limit""",
        "2: usage equals the buyer's live purchases in the month": """
            SELECT u.citizen_id FROM vouchers_monthlyusage u
             WHERE u.purchased <> (SELECT coalesce(sum(face_value), 0) FROM vouchers_purchase p
                                    WHERE p.citizen_id = u.citizen_id AND p.month = u.month
                                      AND p.status <> 'cancelled')""",
        "3: wallet equals its ledger and is not negative": """
            SELECT w.id FROM vouchers_wallet w
             WHERE w.balance < 0
                OR w.balance <> (SELECT coalesce(sum(amount), 0) FROM vouchers_walletentry e WHERE e.wallet_id = w.id)""",
    }
    bad = []
    for name, sql in checks.items():
        rows = psql(sql + " LIMIT 5", DB_NAME)
        if rows:
            bad.append(f"invariant {name} broken for: {rows.splitlines()}")
    return bad


# --- pgbench ----------------------------------------------------------------------------------------

def run_pgbench(path, *, clients, seconds, mode="prepared"):
    return common.run_pgbench(path, db=DB_NAME, clients=clients, seconds=seconds, mode=mode, prog="rush")


def pgbench_app_statement(*, tranche_id, clients, seconds, face):
    """The project's own sale statement (vouchers.db.sql.pgbench_script: the same SQL the service runs,
    autocommit, a new buyer each time), `-M prepared` like the service's per-connection PREPARE."""
    import psycopg2
    from django.utils import timezone

    from vouchers.db import sql

    conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
    script = sql.pgbench_script(tranche_id=tranche_id, medium="mobile", face_value=face, now=timezone.now(),
                                mogrify=conn.cursor().mogrify)
    conn.close()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "pgbench-sale.sql"  # kept, to rerun by hand: pgbench -n -M prepared -f … jinju_bench
    path.write_text(script)
    return run_pgbench(path, clients=clients, seconds=seconds)


MINIMAL_CITIZENS = 100_000
MINIMAL_FACE = 1_000  # 300 purchases of one random buyer before the month's limit: never in 15 s


def pgbench_minimal(*, tranche_id, clients, seconds, face=MINIMAL_FACE):
    """The least a sale can be in SQL: claim the month usage (upsert within the limit), take the quota
    (conditional UPDATE of the tranche row), insert the purchase; one transaction, -M prepared. Its
    buyers exist beforehand (the purchase references them) and are written after the HTTP runs.
    pgbench cannot skip the insert when the claim refused, so the face value is small enough that
    no random buyer reaches the limit (with 100,000 at 200,000 buyers, one run in three broke
    invariant 2 with a buyer drawn four times)."""
    from django.utils import timezone

    from vouchers import months

    month = months.month_of(timezone.now())
    psql(f"INSERT INTO vouchers_citizen (ci_hash, name, birth_year, created_at) "
         f"SELECT 'pgbench-minimal-' || i, '', NULL, now() FROM generate_series(1, {MINIMAL_CITIZENS}) i", DB_NAME)
    lo, hi = psql("SELECT min(id), max(id) FROM vouchers_citizen WHERE ci_hash LIKE 'pgbench-minimal-%'",
                  DB_NAME).split("|")
    price = face * 9 // 10
    script = f"""\\set c random({lo}, {hi})
BEGIN;
INSERT INTO vouchers_monthlyusage AS mu (citizen_id, month, monthly_limit, paper_limit, mobile_limit, yearly_limit, purchased, paper_purchased, mobile_purchased, updated_at) VALUES (:c, '{month}', 300000, NULL, NULL, NULL, {face}, 0, {face}, now()) ON CONFLICT (citizen_id, month) DO UPDATE SET purchased = mu.purchased + EXCLUDED.purchased, mobile_purchased = mu.mobile_purchased + EXCLUDED.mobile_purchased, updated_at = EXCLUDED.updated_at WHERE mu.purchased + EXCLUDED.purchased <= mu.monthly_limit;
UPDATE vouchers_tranche SET sold = sold + {face} WHERE id = {tranche_id} AND sold + {face} <= quota;
INSERT INTO vouchers_purchase (channel, api_client_id, user_id, citizen_id, tranche_id, medium, face_value, price, status, month, idempotency_key, created_at, cancelled_at) VALUES ('zeropay_app', NULL, NULL, :c, {tranche_id}, 'mobile', {face}, {price}, 'completed', '{month}', '', now(), NULL);
COMMIT;
"""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "pgbench-minimal.sql"
    path.write_text(script)
    return run_pgbench(path, clients=clients, seconds=seconds)


# --- one run ----------------------------------------------------------------------------------------

def one_run(args, env, label):
    sales_target = args.buyers + args.buyers // 4
    quota = sales_target * args.face
    quiet = wait_quiet(args.quiet_wait, label)
    print(f"rush: {label}: fresh database {DB_NAME}, {sales_target:,} sales × {args.face:,}원 to sell out")
    fresh_database(env)
    ids, key = setup_data(rush_quota=quota)
    if args.analyze_before:  # what the old bench did: the planner then "knows" the tables are empty
        psql("VACUUM ANALYZE", DB_NAME)
    planner_before = planner_view()

    psql("SELECT pg_stat_reset()", DB_NAME)
    before = table_stats()
    server = start_server(env, args.workers)
    try:
        t0 = time.monotonic()
        rush = run_wrk(connections=args.connections, seconds=args.cap_seconds, key=key, tranche=ids["rush"],
                       face=args.face, prefix=f"r{label}", stop_on_sold_out=True, server_pid=server.pid,
                       analyze_at=args.analyze_at, py_spy=args.py_spy, run_label=label)
        wall = time.monotonic() - t0
        rss = worker_rss_mb(server.pid)
    finally:
        stop_server(server)
    wait_sessions_gone()
    after = table_stats()
    scans = {t: tuple(a - b for a, b in zip(after[t][:3], before[t][:3])) + (after[t][3],) for t in STAT_TABLES}
    planner_after = planner_view()
    count, total, window = sold_window(ids["rush"])
    distinct, second = buyers_of(ids["rush"])
    violations = check_invariants()

    server = start_server(env, args.workers)
    try:
        lat = run_wrk(connections=args.latency_connections, seconds=args.latency_seconds, key=key,
                      tranche=ids["latency"], face=1000, prefix=f"l{label}", stop_on_sold_out=False,
                      server_pid=server.pid)
    finally:
        stop_server(server)
    violations += [v for v in check_invariants() if v not in violations]

    tps_app, failed_app = pgbench_app_statement(tranche_id=ids["pgbench"], clients=args.pgbench_clients,
                                                seconds=args.pgbench_seconds, face=args.face)
    tps_min, failed_min = pgbench_minimal(tranche_id=ids["minimal"], clients=args.pgbench_clients,
                                          seconds=args.pgbench_seconds)
    violations += [v for v in check_invariants() if v not in violations]

    fivexx = sum(v for k, v in rush["codes"].items() if k.startswith("5")) + \
        sum(v for k, v in lat["codes"].items() if k.startswith("5"))
    sales_per_s = count / window if window else 0.0
    r = {
        "label": label, "quiet": quiet, "quota": quota, "total": total, "count": count, "window": window,
        "wall": wall, "distinct": distinct, "second": second,
        "sales_per_s": sales_per_s, "answered_per_s": rush["requests"] / (rush["duration_us"] / 1e6),
        "phases": rate_by_phase(rush["progress"]), "rush": rush, "lat": lat,
        "lat_rate": lat["requests"] / (lat["duration_us"] / 1e6), "rss": rss, "fivexx": fivexx,
        "tps_app": tps_app, "failed_app": failed_app, "tps_min": tps_min, "failed_min": failed_min,
        "ratio_min": sales_per_s / tps_min if tps_min else 0.0, "ratio_app": sales_per_s / tps_app if tps_app else 0.0,
        "scans": scans, "planner_before": planner_before, "planner_after": planner_after, "violations": violations,
    }
    print_run(r, args)
    return r


def print_run(r, args):
    rush, lat = r["rush"], r["lat"]
    print()
    print(f"=== run {r['label']} ===")
    print(f"tranche                 {r['quota']:,}원, sold {r['total']:,}원 in {r['count']:,} purchases "
          f"({'SOLD OUT' if r['total'] == r['quota'] else 'NOT sold out'}) to {r['distinct']:,} buyers, "
          f"{r['second']:,} of them twice")
    print(f"opening → sell-out      {r['window']:.1f} s (wall {r['wall']:.1f} s)")
    print(f"sales/s                 {r['sales_per_s']:,.0f} at {args.connections} connections; answered requests/s "
          f"{r['answered_per_s']:,.0f}")
    if r["phases"]:
        print(f"sales/s by third        {' → '.join(f'{x:,.0f}' for x in r['phases'])}")
    if rush["analyzed_at"] is not None:
        print(f"ANALYZE during the rush after {rush['analyzed_at']:,} purchases (--analyze-at)")
    print(f"latency @{args.connections:<4}          p50 {ms(rush['p50_us'])}  p95 {ms(rush['p95_us'])}  "
          f"p99 {ms(rush['p99_us'])}  max {ms(rush['max_us'])}")
    print(f"latency @{args.latency_connections:<4}          p50 {ms(lat['p50_us'])}  p95 {ms(lat['p95_us'])}  "
          f"p99 {ms(lat['p99_us'])}  max {ms(lat['max_us'])}   ({r['lat_rate']:,.0f} req/s)")
    print(f"answers (rush)          {json.dumps(rush['codes'], sort_keys=True)}")
    print(f"answers (latency run)   {json.dumps(lat['codes'], sort_keys=True)}")
    print(f"socket errors (rush)    connect {rush['connect_errors']}, read {rush['read_errors']}, "
          f"write {rush['write_errors']}, timeout {rush['timeouts']}")
    print(f"5xx                     {r['fivexx']}")
    for name, run in (("rush", rush), ("latency run", lat)):
        print(f"CPU % ({name + ')':<13}    " + ", ".join(f"{k} {v:.0f}" for k, v in run["cpu"].items())
              + f"   (of {os.cpu_count() * 100}; `other` = everything else on the machine)")
    print(f"RSS per worker          {', '.join(f'{x:.0f} MB' for x in r['rss'])}")
    print("during the rush         table: seq scans / rows read by seq scans / index scans (live rows after;"
          " planner's pages/tuples before → after)")
    for t in STAT_TABLES:
        seq, tup, idx, live = r["scans"][t]
        pb, pa = r["planner_before"].get(t, ("?", "?")), r["planner_after"].get(t, ("?", "?"))
        print(f"    {t:<26} {seq:>7,} / {tup:>11,} / {idx:>8,}   ({live:,} rows; {pb[0]}/{pb[1]} → {pa[0]}/{pa[1]})")
    print(f"pgbench, app statement  {r['tps_app']:,.0f} tps at {args.pgbench_clients} clients, -M prepared "
          f"({r['failed_app']} failed)")
    print(f"pgbench, minimal sale   {r['tps_min']:,.0f} tps at {args.pgbench_clients} clients, -M prepared, "
          f"3 statements in a transaction ({r['failed_min']} failed)")
    print(f"HTTP / minimal pgbench  {r['ratio_min']:.2f}   (HTTP / app statement {r['ratio_app']:.2f})")
    print(f"invariants 1–3          {'hold' if not r['violations'] else 'BROKEN'}")
    for v in r["violations"]:
        print("   ", v)
    sys.stdout.flush()


def print_summary(runs, args):
    print()
    print(f"=== {len(runs)} runs: min / median / max ===")
    print(f"machine quiet before    {', '.join('yes' if r['quiet']['quiet'] else 'NO' for r in runs)}")
    rows = [
        (f"sales/s @{args.connections}", [r["sales_per_s"] for r in runs], "{:,.0f}", "≥ 800"),
        ("answered req/s", [r["answered_per_s"] for r in runs], "{:,.0f}", ""),
        ("opening → sell-out s", [r["window"] for r in runs], "{:.1f}", ""),
        (f"p50 @{args.connections} ms", [r["rush"]["p50_us"] / 1000 for r in runs], "{:.1f}", ""),
        (f"p99 @{args.connections} ms", [r["rush"]["p99_us"] / 1000 for r in runs], "{:.1f}", "< 300"),
        (f"p50 @{args.latency_connections} ms", [r["lat"]["p50_us"] / 1000 for r in runs], "{:.1f}", ""),
        (f"p99 @{args.latency_connections} ms", [r["lat"]["p99_us"] / 1000 for r in runs], "{:.1f}", "< 50"),
        (f"req/s @{args.latency_connections}", [r["lat_rate"] for r in runs], "{:,.0f}", ""),
        ("pgbench app stmt tps", [r["tps_app"] for r in runs], "{:,.0f}", ""),
        ("pgbench minimal tps", [r["tps_min"] for r in runs], "{:,.0f}", ""),
        ("HTTP / minimal", [r["ratio_min"] for r in runs], "{:.2f}", "≥ 0.75"),
        ("HTTP / app stmt", [r["ratio_app"] for r in runs], "{:.2f}", ""),
        ("CPU other % (rush)", [r["rush"]["cpu"]["other"] for r in runs], "{:.0f}", ""),
        ("CPU gunicorn % (rush)", [r["rush"]["cpu"]["gunicorn"] for r in runs], "{:.0f}", ""),
        ("CPU postgres % (rush)", [r["rush"]["cpu"]["postgres"] for r in runs], "{:.0f}", ""),
        ("5xx", [r["fivexx"] for r in runs], "{:.0f}", "0"),
    ]
    for t in STAT_TABLES:
        rows.append((f"seq scans {t[len('vouchers_'):] if t.startswith('vouchers_') else t}",
                     [r["scans"][t][0] for r in runs], "{:,.0f}", "0" if t in LEDGER_TABLES else ""))
        rows.append((f"  rows read by them", [r["scans"][t][1] for r in runs], "{:,.0f}", ""))
    for name, values, fmt, target in rows:
        print(f"{name:<28} {spread(values, fmt):<28} {('target ' + target) if target else ''}")
    print(f"invariants 1–3               {'hold in every run' if not any(r['violations'] for r in runs) else 'BROKEN'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=10000, help="new buyers; a quarter as many come back once")
    parser.add_argument("--face", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--latency-connections", type=int, default=16)
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 4)))
    parser.add_argument("--cap-seconds", type=int, default=240, help="stop the rush after this long")
    parser.add_argument("--pgbench-clients", type=int, default=50)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--analyze-at", type=int, default=0,
                        help="ANALYZE the sale's tables once this many purchases are sold (0: never)")
    parser.add_argument("--analyze-before", action="store_true",
                        help="VACUUM ANALYZE the empty database before the rush (as the old bench did)")
    parser.add_argument("--py-spy", type=int, default=0, metavar="SECONDS",
                        help="record one worker with py-spy for SECONDS during each rush (bench/results/)")
    parser.add_argument("--quiet-wait", type=int, default=600, help="wait this long at most for a quiet machine")
    args = parser.parse_args()

    need("wrk", "wrk")
    need("pgbench", "postgresql-client")
    env = server_env(args.workers)
    common.use_env_here(env)
    print(f"rush: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {args.runs} runs, "
          f"{args.workers} workers, git {common.git_head()}")
    runs = [one_run(args, env, str(i + 1)) for i in range(args.runs)]
    print_summary(runs, args)
    ok = all(not r["violations"] and r["fivexx"] == 0 and r["total"] <= r["quota"] for r in runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
