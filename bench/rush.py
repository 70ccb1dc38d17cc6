"""Sale-opening rush: sell a whole tranche over HTTP through the real server, then check the invariants.

    .venv/bin/python bench/rush.py                      # January's 10 bn as 33,334 purchases of 300,000
    .venv/bin/python bench/rush.py --buyers 5000        # a quicker run

What it does, in one run (see bench/README.md for the figures and the tuning):
1. drops and creates the database `jinju_bench` on the local PostgreSQL and migrates it;
2. creates a mobile tranche of buyers × face value, the buyers (citizens with hashed CIs) and a
   `sales_agent` API key;
3. starts gunicorn with deploy/gunicorn.conf.py (sync workers, DEBUG=0, persistent connections);
4. latency run: wrk at 16 connections for a few seconds on a second, large tranche;
5. rush: wrk at 200 connections, every request a different buyer buying `face` from the tranche,
   until every connection has been told `tranche_sold_out` (or the time cap);
6. checks invariants 1–3 in SQL (sold == sum of live purchases <= quota; nobody over the month's
   limit; every wallet equals its ledger and is never negative);
7. runs pgbench with the project's own sale statement (vouchers/sql.py, prepared and in autocommit
   as the service runs it) at 50 clients against the same database, and prints the HTTP rate as a
   ratio of it;
8. prints purchases/s, answered requests/s, p50/p95/p99, answers by code and RSS per worker.

Needs `wrk` and `pgbench` (Debian: apt-get install -y wrk postgresql-client); the script says so.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
DB_NAME = "jinju_bench"
DB_URL = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DB_NAME}"
PORT = 8123
LATENCY_OFFSET = 10_000_000
LATENCY_BUYERS = 40_000

LUA = r"""
-- One buyer per request: thread t of n sends buyers offset+t, offset+t+n, offset+t+2n, …
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1]); key = args[2]; tranche = args[3]; face = args[4]
  offset = tonumber(args[5])
  counter = 0; counts = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token " .. key
end

function request()
  local i = offset + tid + counter * nthreads
  counter = counter + 1
  return wrk.format(nil, nil, nil,
    '{"tranche":' .. tranche .. ',"buyer_ci":"bench-buyer-' .. i .. '","face_value":' .. face .. '}')
end

function response(status, headers, body)
  local code = tostring(status)
  if status == 409 or status == 400 then
    local c = string.match(body, '"code":"([a-z_]+)"')
    if c then code = code .. " " .. c end
  end
  counts[code] = (counts[code] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  local sent = 0
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do all[k] = (all[k] or 0) + v end
    sent = sent + t:get("counter")
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, string.format('"%s": %d', k, v)) end
  io.write(string.format(
    'RESULT {"duration_us": %d, "requests": %d, "sent": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d, ' ..
    '"codes": {%s}}\n',
    summary.duration, summary.requests, sent, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, table.concat(parts, ", ")))
end
"""


def need(tool, package):
    if not shutil.which(tool):
        sys.exit(f"rush: `{tool}` is missing — apt-get install -y {package}")


def server_env(workers):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(
        DATABASE_URL=DB_URL, DEBUG="0", SECRET_KEY="bench-" + "x" * 50, IDENTITY_HASH_KEY="bench-identity-key",
        ALLOWED_HOSTS="127.0.0.1,localhost", SECURE_SSL_REDIRECT="0", LOG_LEVEL="ERROR",
        GUNICORN_BIND=f"127.0.0.1:{PORT}", GUNICORN_WORKERS=str(workers), GUNICORN_ACCESSLOG="",
        DJANGO_SETTINGS_MODULE="jinju_portal.settings", PYTHONWARNINGS="ignore",
    )
    return env


def psql(sql, db="postgres"):
    return subprocess.run(["psql", "-h", PG["host"], "-U", PG["user"], "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def fresh_database(env):
    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def setup_data(*, buyers, face, extra_buyers):
    """Tranches, buyers and a key, written with Django against the bench database."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from jinju_portal.identity import hash_identity
    from jinju_portal.services import issue_api_key
    from vouchers.models import Citizen, Tranche

    now = timezone.now()
    common = dict(medium="mobile", discount_rate="0.1000", opens_at=now - timezone.timedelta(minutes=1),
                  closes_at=now + timezone.timedelta(days=1))
    rush = Tranche.objects.create(name="벤치 1월 모바일", quota=buyers * face, **common)
    warm = Tranche.objects.create(name="벤치 지연시간", quota=10**15, **common)
    pgb = Tranche.objects.create(name="벤치 pgbench", quota=10**15, **common)
    ids = list(range(buyers)) + list(range(LATENCY_OFFSET, LATENCY_OFFSET + extra_buyers))
    batch = []
    for i in ids:
        batch.append(Citizen(ci_hash=hash_identity(f"bench-buyer-{i}"), name="", birth_year=1980 + i % 40))
        if len(batch) == 5000:
            Citizen.objects.bulk_create(batch)
            batch = []
    Citizen.objects.bulk_create(batch)
    _, key = issue_api_key(name="벤치 판매대행", role="sales_agent")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return rush.pk, warm.pk, pgb.pk, key


def start_server(env):
    log = open(Path(tempfile.gettempdir()) / "rush-gunicorn.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "jinju_portal.wsgi:application", "-c",
                             "deploy/gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log, stderr=log,
                            text=True, start_new_session=True)
    import urllib.request

    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            sys.exit(f"rush: gunicorn exited; see {log.name}")
    sys.exit("rush: gunicorn did not answer /healthz")


HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks_by_group(master_pid):
    """CPU ticks so far of gunicorn (master + workers), this database's PostgreSQL processes (and the
    server's shared background processes), wrk (reaped children) and the whole machine: the machine
    is shared, so the report says who had the two cores."""
    import resource

    groups = {"gunicorn": 0, "postgres": 0}
    workers = {str(master_pid)} | set(subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True,
                                                     text=True).stdout.split())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline") as f:
                cmdline = f.read().replace("\0", " ")
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        ticks = int(rest[11]) + int(rest[12])
        if pid in workers:
            groups["gunicorn"] += ticks
        elif comm.startswith("postgres") and (f" {DB_NAME} " in cmdline or "(" not in cmdline):
            groups["postgres"] += ticks  # our backends, and walwriter/checkpointer/… serving everyone
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    groups["wrk"] = round((children.ru_utime + children.ru_stime) * HZ)
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    groups["machine"] = user + nice + system + irq + softirq + steal
    return groups


def worker_rss_mb(master_pid):
    out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(master_pid)], capture_output=True, text=True).stdout
    return [int(line.split()[1]) / 1024 for line in out.strip().splitlines() if line.strip()]


def run_wrk(*, connections, seconds, key, tranche, face, offset, stop_on_sold_out, threads=2, server_pid=None):
    """wrk with the Lua above. With stop_on_sold_out, wrk is interrupted (it then prints its summary)
    half a second after the tranche's remaining quota drops below one face value; meanwhile the
    tranche's `sold` is read every 0.25 s (the per-second sale rate) and CPU use is split by process."""
    import psycopg2

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        script = f.name
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
           f"http://127.0.0.1:{PORT}/api/v1/vouchers/purchases/", "--",
           str(threads), key, str(tranche), str(face), str(offset), "0"]
    cpu_before, t_before = (cpu_ticks_by_group(server_pid), time.monotonic()) if server_pid else (None, None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    progress = []  # (seconds since start, purchases so far)
    if stop_on_sold_out:
        conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
        conn.autocommit = True
        start = time.monotonic()
        with conn.cursor() as cur:
            while proc.poll() is None:
                time.sleep(0.25)
                cur.execute("SELECT quota - sold, sold FROM vouchers_tranche WHERE id = %s", [tranche])
                remaining, sold = cur.fetchone()
                progress.append((time.monotonic() - start, sold // face))
                if remaining < face:
                    time.sleep(0.5)
                    proc.send_signal(signal.SIGINT)
                    break
        conn.close()
    stdout, stderr = proc.communicate()
    cpu = None
    if server_pid:
        after, elapsed = cpu_ticks_by_group(server_pid), time.monotonic() - t_before
        cpu = {k: (after[k] - cpu_before[k]) / HZ / elapsed * 100 for k in after}
        cpu["other"] = max(cpu.pop("machine") - cpu["gunicorn"] - cpu["postgres"] - cpu["wrk"], 0.0)
    os.unlink(script)
    line = next((l for l in stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit("rush: wrk printed no result:\n" + stdout + stderr)
    result = json.loads(line[len("RESULT "):])
    result["cpu"] = cpu
    result["progress"] = progress
    return result


def rate_by_phase(progress, parts=3):
    """Sales per second in the first, middle and last third of the rush (a decaying rate shows here)."""
    if len(progress) < parts * 4:
        return []
    sold_out = next((i for i, (_, n) in enumerate(progress) if n == progress[-1][1]), len(progress) - 1)
    points = [(0.0, 0)] + progress[:sold_out + 1]
    rates = []
    for k in range(parts):
        (t0, n0), (t1, n1) = points[len(points) * k // parts], points[min(len(points) * (k + 1) // parts,
                                                                           len(points) - 1)]
        rates.append((n1 - n0) / (t1 - t0) if t1 > t0 else 0.0)
    return rates


def sold_window(tranche_id):
    row = psql(f"SELECT count(*), coalesce(sum(face_value),0), "
               f"extract(epoch from max(created_at) - min(created_at)) FROM vouchers_purchase "
               f"WHERE tranche_id = {tranche_id} AND status <> 'cancelled'", DB_NAME)
    count, total, seconds = row.split("|")
    return int(count), int(total), float(seconds or 0)


def check_invariants(tranche_id):
    """Invariants 1–3 over the whole bench database; returns a list of violations (empty is good)."""
    checks = {
        "1: sold == sum of live purchases and <= quota": f"""
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


def pgbench(*, tranche_id, clients, seconds, face, mode="prepared"):
    """The project's own sale statement (vouchers.sql.pgbench_script: the same SQL the service runs,
    autocommit, a new buyer each time), `-M prepared` like the service's per-connection PREPARE."""
    import psycopg2
    from django.utils import timezone

    from vouchers.db import sql

    conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
    script = sql.pgbench_script(tranche_id=tranche_id, medium="mobile", face_value=face, now=timezone.now(),
                                mogrify=conn.cursor().mogrify)
    conn.close()
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / "pgbench-sale.sql"  # kept, to rerun by hand: pgbench -n -M prepared -f … jinju_bench
    path.write_text(script)
    out = subprocess.run(["pgbench", "-n", "-M", mode, "-h", PG["host"], "-U", PG["user"], "-c", str(clients),
                          "-j", "2", "-T", str(seconds), "-f", str(path), DB_NAME], capture_output=True, text=True)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
    if not m:
        sys.exit("rush: pgbench failed:\n" + out.stdout + out.stderr)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    return float(m.group(1)), int(failed.group(1)) if failed else 0


def ms(us):
    return f"{us / 1000:.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=33334, help="purchases that sell the tranche out")
    parser.add_argument("--face", type=int, default=300000)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--latency-connections", type=int, default=16)
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 4)))
    parser.add_argument("--cap-seconds", type=int, default=240, help="stop the rush after this long")
    parser.add_argument("--pgbench-clients", type=int, default=50)
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--keep-server", action="store_true", help="leave gunicorn running (for profiling)")
    args = parser.parse_args()

    need("wrk", "wrk")
    need("pgbench", "postgresql-client")
    env = server_env(args.workers)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "IDENTITY_HASH_KEY",
                                           "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "DJANGO_SETTINGS_MODULE")})
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)

    print(f"rush: fresh database {DB_NAME}, {args.buyers:,} buyers × {args.face:,}원")
    fresh_database(env)
    # Buyers 0…N-1 sell the tranche out; the latency run uses buyers from LATENCY_OFFSET on, so the
    # rush never meets a buyer who already bought this month.
    rush_id, warm_id, pgb_id, key = setup_data(buyers=args.buyers, face=args.face, extra_buyers=LATENCY_BUYERS)
    server = start_server(env)
    try:
        print(f"rush: gunicorn with {args.workers} workers ({os.environ.get('GUNICORN_WORKER_CLASS', 'gthread')}) on 127.0.0.1:{PORT}")
        lat = run_wrk(connections=args.latency_connections, seconds=args.latency_seconds, key=key,
                      tranche=warm_id, face=1000, offset=LATENCY_OFFSET, stop_on_sold_out=False,
                      server_pid=server.pid)
        t0 = time.monotonic()
        rush = run_wrk(connections=args.connections, seconds=args.cap_seconds, key=key, tranche=rush_id,
                       face=args.face, offset=0, stop_on_sold_out=True, server_pid=server.pid)
        wall = time.monotonic() - t0
        rss = worker_rss_mb(server.pid)
    finally:
        if not args.keep_server:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)

    count, total, window = sold_window(rush_id)
    quota = args.buyers * args.face
    violations = check_invariants(rush_id)
    tps, pgb_failed = pgbench(tranche_id=pgb_id, clients=args.pgbench_clients, seconds=args.pgbench_seconds,
                              face=args.face)
    tps_simple, _ = pgbench(tranche_id=pgb_id, clients=args.pgbench_clients, seconds=args.pgbench_seconds,
                            face=args.face, mode="simple")

    purchases_per_s = count / window if window else 0.0
    answered_per_s = rush["requests"] / (rush["duration_us"] / 1e6)
    fivexx = sum(v for k, v in rush["codes"].items() if k.startswith("5")) + \
        sum(v for k, v in lat["codes"].items() if k.startswith("5"))
    print()
    print("=== sale-opening rush ===")
    print(f"tranche                 {quota:,}원, sold {total:,}원 in {count:,} purchases "
          f"({'SOLD OUT' if total == quota else 'NOT sold out'})")
    print(f"opening → sell-out      {window:.1f} s (wall {wall:.1f} s)")
    print(f"purchases/s             {purchases_per_s:,.0f}   (target ≥ 600 at {args.connections} connections)")
    print(f"answered requests/s     {answered_per_s:,.0f}")
    phases = rate_by_phase(rush["progress"])
    if phases:
        print(f"sales/s by third        {' → '.join(f'{r:,.0f}' for r in phases)}   (a decay would show here)")
    print(f"latency @{args.connections:<4}          p50 {ms(rush['p50_us'])}  p95 {ms(rush['p95_us'])}  "
          f"p99 {ms(rush['p99_us'])}   (target p99 < 600 ms)")
    lat_rate = lat["requests"] / (lat["duration_us"] / 1e6)
    print(f"latency @{args.latency_connections:<4}          p50 {ms(lat['p50_us'])}  p95 {ms(lat['p95_us'])}  "
          f"p99 {ms(lat['p99_us'])}   (target p99 < 100 ms; {lat_rate:,.0f} req/s)")
    print(f"answers (rush)          {json.dumps(rush['codes'], sort_keys=True)}")
    print(f"answers (latency run)   {json.dumps(lat['codes'], sort_keys=True)}")
    print(f"socket errors (rush)    connect {rush['connect_errors']}, read {rush['read_errors']}, "
          f"write {rush['write_errors']}, timeout {rush['timeouts']}")
    print(f"5xx                     {fivexx}")
    for name, run in (("rush", rush), ("latency run", lat)):
        if run["cpu"]:
            print(f"CPU % ({name + ')':<13}    " + ", ".join(f"{k} {v:.0f}" for k, v in run["cpu"].items())
                  + f"   (of {os.cpu_count() * 100}; `other` = everything else on the machine)")
    print(f"RSS per worker          {', '.join(f'{r:.0f} MB' for r in rss)}   (target < 120 MB)")
    print(f"pgbench (same SQL)      {tps:,.0f} tps at {args.pgbench_clients} clients, -M prepared like the app "
          f"({pgb_failed} failed); {tps_simple:,.0f} tps with the simple protocol")
    print(f"HTTP / pgbench          {purchases_per_s / tps:.2f}   (target ≥ 0.6)")
    print(f"invariants 1–3          {'hold' if not violations else 'BROKEN'}")
    for v in violations:
        print("   ", v)
    ok = not violations and fivexx == 0 and total <= quota
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
