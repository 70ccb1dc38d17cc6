"""What the HTTP benchmarks share (rush.py, payments.py): a quiet machine, a fresh database, a cold
gunicorn, CPU split by process, table statistics around a phase, pgbench, min / median / max.

Every function takes the database (and the port) it works on, so two benchmarks never touch
each other's: rush.py uses `jinju_bench` on 8123, payments.py `jinju_paybench` on 8124.
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
RESULTS = ROOT / "bench" / "results"
HZ = os.sysconf("SC_CLK_TCK")


def need(tool, package, prog="bench"):
    if not shutil.which(tool):
        sys.exit(f"{prog}: `{tool}` is missing — apt-get install -y {package}")


def db_url(db):
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{db}"


def server_env(*, db, port, workers, redis_url=""):
    """The server's environment: production settings (DEBUG off), this database, no Redis unless
    given (then the cache, and so the throttles, live in it, as in a deployment)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(
        DATABASE_URL=db_url(db), DEBUG="0", SECRET_KEY="bench-" + "x" * 50, IDENTITY_HASH_KEY="bench-identity-key",
        ALLOWED_HOSTS="127.0.0.1,localhost", SECURE_SSL_REDIRECT="0", LOG_LEVEL="ERROR",
        GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(workers), GUNICORN_ACCESSLOG="",
        DJANGO_SETTINGS_MODULE="jinju_portal.settings", PYTHONWARNINGS="ignore",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CELERY_BROKER_URL"] = ""  # tasks stay eager: the bench measures the request, not a worker
    return env


def use_env_here(env):
    """Point this process's Django at the same database and settings as the server."""
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "IDENTITY_HASH_KEY",
                                           "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "DJANGO_SETTINGS_MODULE")})
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if name in env:
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)


def psql(sql, db="postgres"):
    return subprocess.run(["psql", "-h", PG["host"], "-U", PG["user"], "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def git_head():
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()


# --- a quiet machine --------------------------------------------------------------------------------

BUSY_PATTERN = "pytest|playwright|chromium"


def machine_busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], sum(v)


def wait_quiet(max_wait, label, prog="bench"):
    """Wait (up to max_wait s) until no test run is on the machine and the cores are idle (< 30 % of
    one core busy in each of three 5-s samples: this script is idle while it waits). Returns what it
    saw."""
    start = time.monotonic()
    calm = 0
    while True:
        others = subprocess.run(["pgrep", "-f", BUSY_PATTERN], capture_output=True, text=True).stdout.split()
        others = [p for p in others if int(p) != os.getpid()]
        b0, t0 = machine_busy_ticks()
        time.sleep(5)
        b1, t1 = machine_busy_ticks()
        busy = (b1 - b0) / max(t1 - t0, 1) * os.cpu_count() * 100  # % of one core
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        waited = time.monotonic() - start
        calm = calm + 1 if not others and busy < 30 else 0
        if calm >= 3:  # 15 s in a row: test suites pause for a few seconds between files
            print(f"{prog}: {label}: machine quiet after {waited:.0f} s (busy {busy:.0f} % of a core, load {load})")
            return {"quiet": True, "waited": waited, "busy": busy, "load": load}
        if waited > max_wait:
            print(f"{prog}: {label}: NOT quiet after {waited:.0f} s: {len(others)} test processes, "
                  f"busy {busy:.0f} % of a core, load {load}; measuring anyway")
            return {"quiet": False, "waited": waited, "busy": busy, "load": load}


# --- database ---------------------------------------------------------------------------------------

def fresh_database(db, env, template=None):
    """Drop and create `db`: migrated (no template), or as a copy of an already built template."""
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    if template:
        psql(f"CREATE DATABASE {db} TEMPLATE {template}")
        return
    psql(f"CREATE DATABASE {db}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def table_stats(db, tables):
    """Per table: seq scans, rows read by them, index scans, live rows (pg_stat_user_tables)."""
    rows = psql("SELECT relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0), n_live_tup FROM pg_stat_user_tables "
                f"WHERE relname IN ({', '.join(repr(t) for t in tables)})", db)
    out = {t: (0, 0, 0, 0) for t in tables}
    for line in rows.splitlines():
        name, *vals = line.split("|")
        out[name] = tuple(int(v) for v in vals)
    return out


def scans_between(before, after):
    """(seq scans, rows read by them, index scans) during a phase, and the live rows after it."""
    return {t: tuple(a - b for a, b in zip(after[t][:3], before[t][:3])) + (after[t][3],) for t in after}


def planner_view(db, tables):
    """What the planner knows of each table (reltuples -1: never vacuumed or analyzed)."""
    rows = psql("SELECT relname, relpages, reltuples::bigint FROM pg_class "
                f"WHERE relname IN ({', '.join(repr(t) for t in tables)})", db)
    return {name: (int(p), int(t)) for name, p, t in (line.split("|") for line in rows.splitlines())}


def wait_sessions_gone(db):
    """Stopped backends flush their table statistics when they exit; wait for them."""
    for _ in range(100):
        n = int(psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"))
        if n == 0:
            return
        time.sleep(0.1)


def wallet_violations(db):
    """Invariant 3 over the whole database: a wallet equals the sum of its ledger, its last line's
    balance_after is its balance, and it is not negative. A list of broken wallet ids (empty is good)."""
    rows = psql("""
        SELECT w.id FROM vouchers_wallet w
          LEFT JOIN (SELECT wallet_id, sum(amount) AS s, max(id) AS last FROM vouchers_walletentry GROUP BY wallet_id) e
            ON e.wallet_id = w.id
          LEFT JOIN vouchers_walletentry l ON l.id = e.last
         WHERE w.balance < 0 OR w.balance <> coalesce(e.s, 0) OR (l.id IS NOT NULL AND l.balance_after <> w.balance)
         LIMIT 5""", db)
    return rows.splitlines()


# --- server -----------------------------------------------------------------------------------------

def start_server(env, workers, *, log_name="bench-gunicorn.log", prog="bench"):
    """gunicorn with deploy/gunicorn.conf.py, cold: returns once every worker has booted, without
    sending it any request."""
    log_path = Path(tempfile.gettempdir()) / log_name
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "jinju_portal.wsgi:application", "-c",
                             "deploy/gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log, stderr=log,
                            text=True, start_new_session=True)
    for _ in range(300):
        time.sleep(0.1)
        if proc.poll() is not None:
            sys.exit(f"{prog}: gunicorn exited; see {log_path}")
        if log_path.read_text().count("Booting worker") >= workers:
            time.sleep(0.5)  # the workers' own sockets open right after the boot line
            return proc
    sys.exit(f"{prog}: gunicorn workers did not boot")


def stop_server(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def cpu_ticks_by_group(master_pid, db):
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
        elif comm.startswith("postgres") and (f" {db} " in cmdline or "(" not in cmdline):
            groups["postgres"] += ticks  # our backends, and walwriter/checkpointer/… serving everyone
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    groups["wrk"] = round((children.ru_utime + children.ru_stime) * HZ)
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    groups["machine"] = user + nice + system + irq + softirq + steal
    return groups


def cpu_percent(before, after, elapsed):
    """CPU % of each group between two cpu_ticks_by_group readings; `other` = the rest of the machine."""
    cpu = {k: (after[k] - before[k]) / HZ / elapsed * 100 for k in after}
    cpu["other"] = max(cpu.pop("machine") - cpu["gunicorn"] - cpu["postgres"] - cpu["wrk"], 0.0)
    return cpu


def worker_pids(master_pid):
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True,
                                           text=True).stdout.split()]


def worker_rss_mb(master_pid):
    out = subprocess.run(["ps", "-o", "pid=,rss=", "--ppid", str(master_pid)], capture_output=True, text=True).stdout
    return [int(line.split()[1]) / 1024 for line in out.strip().splitlines() if line.strip()]


# --- pgbench ----------------------------------------------------------------------------------------

def run_pgbench(path, *, db, clients, seconds=None, transactions=None, mode="prepared", defines=None, prog="bench"):
    """pgbench -n on a custom script for `seconds` (-T) or `transactions` per client (-t); returns
    (tps without connection time, failed transactions)."""
    limit = ["-T", str(seconds)] if transactions is None else ["-t", str(transactions)]
    extra = [f"-D{k}={v}" for k, v in (defines or {}).items()]
    out = subprocess.run(["pgbench", "-n", "-M", mode, "-h", PG["host"], "-U", PG["user"], "-c", str(clients),
                          "-j", "2", *limit, *extra, "-f", str(path), db], capture_output=True, text=True)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
    if not m:
        sys.exit(f"{prog}: pgbench failed:\n" + out.stdout + out.stderr)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    return float(m.group(1)), int(failed.group(1)) if failed else 0


# --- figures ----------------------------------------------------------------------------------------

def spread(values, fmt="{:,.0f}"):
    values = sorted(values)
    return " / ".join(fmt.format(v) for v in (values[0], statistics.median(values), values[-1]))


def ms(us):
    return f"{us / 1000:.1f} ms"


# The end of every wrk script here: counts answers by status and error code (and replays), then
# prints one RESULT line of JSON that the benchmarks parse (latency percentiles, errors, counts).
WRK_REPORT_LUA = r"""
function response(status, headers, body)
  local code = tostring(status)
  if status >= 400 then
    local c = string.match(body, '"code":"([a-z_]+)"')
    if c then code = code .. " " .. c end
  end
  if headers["Idempotent-Replayed"] then code = code .. " replayed" end
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
    'RESULT {"duration_us": %d, "requests": %d, "sent": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"status_errors": %d, "codes": {%s}}\n',
    summary.duration, summary.requests, sent, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status, table.concat(parts, ", ")))
end
"""


def rate_by_phase(progress, parts=3):
    """Rows per second in the first, middle and last third of a phase (a decaying rate shows here),
    from (seconds, count) samples; the phase ends where the count last changed."""
    if len(progress) < parts * 4:
        return []
    end = next((i for i, (_, n) in enumerate(progress) if n == progress[-1][1]), len(progress) - 1)
    points = [(0.0, 0)] + progress[:end + 1]
    rates = []
    for k in range(parts):
        (t0, n0), (t1, n1) = points[len(points) * k // parts], points[min(len(points) * (k + 1) // parts,
                                                                           len(points) - 1)]
        rates.append((n1 - n0) / (t1 - t0) if t1 > t0 else 0.0)
    return rates


def fund_wallets(cur, *, ci_hashes, app_id, tranche_id, face, price, month, now, limits, expires_at) -> list[int]:
    """Funded wallets in bulk SQL, as the sale leaves them (bench/payments.py, bench/orders.py): one
    citizen per CI hash, one mobile purchase of `face` by the wallet app `app_id`, the month's usage
    row, the tranche's `sold`, the wallet and its purchase ledger line (wallet == ledger). Returns the
    wallet ids in order. Run inside the caller's transaction."""
    cur.execute("INSERT INTO vouchers_citizen (ci_hash, name, birth_year, created_at) "
                "SELECT h, '', NULL, %s FROM unnest(%s::varchar[]) h", [now, ci_hashes])
    cur.execute("INSERT INTO vouchers_purchase (channel, api_client_id, user_id, citizen_id, tranche_id, medium, "
                "face_value, price, status, month, idempotency_key, created_at, cancelled_at) "
                "SELECT 'zeropay_app', %s, NULL, c.id, %s, 'mobile', %s, %s, 'completed', %s, '', %s, NULL "
                "FROM vouchers_citizen c ORDER BY c.id", [app_id, tranche_id, face, price, month, now])
    cur.execute("INSERT INTO vouchers_monthlyusage (citizen_id, month, monthly_limit, paper_limit, mobile_limit, "
                "yearly_limit, purchased, paper_purchased, mobile_purchased, updated_at) "
                "SELECT p.citizen_id, p.month, %s, %s, %s, %s, sum(p.face_value), 0, sum(p.face_value), %s "
                "FROM vouchers_purchase p GROUP BY p.citizen_id, p.month",
                [limits.monthly_limit, limits.paper_monthly_limit, limits.mobile_monthly_limit,
                 limits.yearly_limit, now])
    cur.execute("UPDATE vouchers_tranche t SET sold = (SELECT coalesce(sum(face_value), 0) FROM vouchers_purchase p "
                "WHERE p.tranche_id = t.id) WHERE t.id = %s", [tranche_id])
    cur.execute("INSERT INTO vouchers_wallet (citizen_id, balance, updated_at) "
                "SELECT c.id, %s, %s FROM vouchers_citizen c ORDER BY c.id", [face, now])
    cur.execute("INSERT INTO vouchers_walletentry (wallet_id, amount, balance_after, kind, purchase_id, reference, "
                "created_at, expires_at, payment_id) "
                "SELECT w.id, p.face_value, p.face_value, 'purchase', p.id, 'purchase:' || p.id, %s, %s, NULL "
                "FROM vouchers_wallet w JOIN vouchers_purchase p ON p.citizen_id = w.citizen_id ORDER BY w.id",
                [now, expires_at])
    cur.execute("SELECT id FROM vouchers_wallet ORDER BY id")
    return [r[0] for r in cur.fetchall()]
