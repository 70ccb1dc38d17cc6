"""The merchant directory (가맹점 찾기) at the city's size: latency of each query, in-process and over HTTP.

    .venv/bin/python bench/directory.py                  # 8,500 approved merchants (7,000 mobile), 30 rounds
    .venv/bin/python bench/directory.py --rounds 5 --wrk-seconds 3   # a quick look
    .venv/bin/python bench/directory.py --no-analyze     # leave the table as the seed wrote it (no statistics)

One run (bench/README.md has the figures):
1. drops and creates the database `jinju_bench_directory`, migrates it and seeds the demo
   merchants (vouchers/seed_merchants.py: 8,500 approved, 4,500 paper and 7,000 mobile, in real
   Jinju 읍면동); then ANALYZE, which autovacuum does after a bulk load (it is off on this VM);
2. plans: EXPLAIN ANALYZE of the page and count query of every query below, and how each reads
   `vouchers_merchant` (Bitmap Index Scan on the trigram index, Seq Scan, …);
3. in-process, twice over the same mix: (a) what the API view does inside — the shared input
   cleaner, `merchant_directory` under `directory_search()`, the count and the page, the serializer —
   and (b) the whole Django stack through the test client (middleware, throttle, DRF, JSON);
4. over HTTP: gunicorn with deploy/gunicorn.conf.py started cold (bench/rush.py's helpers: fresh
   processes, no request before the first measured one), then the same mix sent one request at a
   time over 8 kept-alive connections (so every worker serves, the cold ones included), then wrk at
   16 connections for --wrk-seconds over the same paths.
Every figure is min / median / p95 / p99 / max in ms, per kind of query and overall. The target:
p95 < 20 ms per query. Exit status 1 if the overall p95 of a mode misses it or a query failed.

Each request carries its own client address (REMOTE_ADDR in-process, X-Forwarded-For with
NUM_PROXIES=1 over HTTP): the public directory is throttled per IP (120/min), and one IP sending a
thousand requests would measure the throttle's refusal, not the directory. Nobody else uses
`jinju_bench_directory` or port 8125.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import rush  # noqa: E402  (bench/rush.py: server start/stop, psql, the quiet-machine wait)

DB_NAME = "jinju_bench_directory"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
PORT = 8125
PATH = "/api/v1/vouchers/merchants/"
TARGET_P95_MS = 20.0

# What citizens type and pick, in the words of the demo data (stems × shop words of seed_merchants).
QUERIES = [
    # Korean partial names: two syllables are the common case, and the one trigrams cannot index
    ("partial", {"q": "남강"}), ("partial", {"q": "국밥"}), ("partial", {"q": "진주"}),
    ("partial", {"q": "카페"}), ("partial", {"q": "미용"}), ("partial", {"q": "약국"}),
    ("partial", {"q": "촉석"}), ("partial", {"q": "냉면"}), ("partial", {"q": "한우", "accepts": "mobile"}),
    ("partial", {"q": "떡", "accepts": "mobile"}),
    # whole names
    ("name", {"q": "남강식당"}), ("name", {"q": "행복미용실", "accepts": "mobile"}), ("name", {"q": "촉석카페"}),
    ("name", {"q": "비봉약국", "accepts": "mobile"}), ("name", {"q": "진양정육점"}),
    # one wrong syllable or consonant
    ("typo", {"q": "진주싱당"}), ("typo", {"q": "남강까페", "accepts": "mobile"}), ("typo", {"q": "행복미용싷"}),
    ("typo", {"q": "촉석국빱", "accepts": "mobile"}), ("typo", {"q": "비봉약굮"}), ("typo", {"q": "할매칼국슈"}),
    # filters alone and together, no name
    ("filters", {"accepts": "mobile"}), ("filters", {"category": "restaurant"}), ("filters", {"dong": "평거동"}),
    ("filters", {"accepts": "mobile", "category": "cafe"}), ("filters", {"dong": "충무공동", "accepts": "paper"}),
    ("filters", {"accepts": "mobile", "category": "beauty", "dong": "가좌동"}),
    # a name with filters
    ("name+filters", {"q": "국밥", "accepts": "mobile"}), ("name+filters", {"q": "카페", "dong": "평거동"}),
    ("name+filters", {"q": "진주싱당", "category": "restaurant", "accepts": "mobile"}),
    ("name+filters", {"q": "미용", "dong": "가좌동", "accepts": "mobile"}),
    # further pages
    ("pages", {"accepts": "mobile", "page": "2"}), ("pages", {"accepts": "mobile", "page": "40"}),
    ("pages", {"accepts": "mobile", "page": "140"}), ("pages", {"q": "진주", "page": "3"}),
    ("pages", {"category": "restaurant", "page": "5", "page_size": "20"}),
]
KINDS = list(dict.fromkeys(kind for kind, _ in QUERIES))


def url(params):
    return PATH + "?" + urlencode(params)


def spread(ms):
    values = sorted(ms)
    if not values:
        return "-"

    def pct(p):
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    return (f"{values[0]:6.2f} {statistics.median(values):7.2f} {pct(95):7.2f} {pct(99):7.2f} "
            f"{values[-1]:7.2f}  (n={len(values)})")


def p95(ms):
    values = sorted(ms)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def print_table(title, samples):
    """samples: list of (kind, ms)."""
    print(f"\n{title}")
    print(f"    {'kind':<14} {'min':>6} {'median':>7} {'p95':>7} {'p99':>7} {'max':>7}   ms")
    for kind in KINDS:
        print(f"    {kind:<14} {spread([ms for k, ms in samples if k == kind])}")
    print(f"    {'ALL':<14} {spread([ms for _, ms in samples])}")


# --- database -----------------------------------------------------------------------------------

def fresh_database(env, analyze):
    rush.psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    rush.psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    seed = ("from vouchers import seed_merchants\n"
            "class Out:\n    def created(self, t): pass\n    def step(self, t): print('directory:', t)\n"
            "seed_merchants.run(Out())\n")
    subprocess.run([sys.executable, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True)
    if analyze:
        rush.psql("VACUUM ANALYZE", DB_NAME)
    costs = rush.psql("SELECT string_agg(proname || ' ' || procost, ', ' ORDER BY proname) FROM pg_proc "
                      "WHERE proname IN ('similarity_op', 'word_similarity_commutator_op')", DB_NAME)
    print(f"directory: pg_trgm operator function costs: {costs}")


# --- in-process ---------------------------------------------------------------------------------

def in_process(rounds):
    """(plans, selector+serializer samples, test-client samples) in this process, against the bench DB."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from vouchers import inputs, selectors
    from vouchers.api.serializers import MerchantDirectorySerializer

    plans = []
    for kind, params in QUERIES:
        filters = inputs.clean_directory_filters(params)
        with selectors.directory_search():
            qs = selectors.merchant_directory(**filters)
            size = int(params.get("page_size", 50))
            offset = (int(params.get("page", 1)) - 1) * size
            page_sql, page_params = qs[offset:offset + size].query.sql_with_params()
            count_sql, count_params = qs.order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                found = []
                for label, sql, args in (("page", page_sql, page_params),
                                         ("count", f"SELECT count(*) FROM ({count_sql}) c", count_params)):
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, args)
                    plan = cursor.fetchone()[0]
                    plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
                    found.append((label, plan["Execution Time"], sorted(set(_merchant_access(plan["Plan"])))))
        plans.append((kind, params, found))

    def direct(params):
        """What MerchantDirectoryView.list does, without HTTP: clean, select, count, page, serialize."""
        filters = inputs.clean_directory_filters(params)
        size = int(params.get("page_size", 50))
        offset = (int(params.get("page", 1)) - 1) * size
        with selectors.directory_search():
            qs = selectors.merchant_directory(**filters)
            count = qs.count()
            rows = list(qs[offset:offset + size])
            data = MerchantDirectorySerializer(rows, many=True).data
        return count, data

    direct_samples, client_samples = [], []
    client = Client()
    n = 0
    for _ in range(rounds):
        for kind, params in QUERIES:
            t0 = time.perf_counter()
            direct(params)
            direct_samples.append((kind, (time.perf_counter() - t0) * 1000))
    for _ in range(rounds):
        for kind, params in QUERIES:
            n += 1
            t0 = time.perf_counter()
            response = client.get(url(params), REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")
            client_samples.append((kind, (time.perf_counter() - t0) * 1000))
            if response.status_code != 200:
                sys.exit(f"directory: {url(params)} answered {response.status_code}: {response.content[:200]}")
    connection.close()
    return plans, direct_samples, client_samples


def _merchant_access(node):
    """How a plan reads vouchers_merchant: 'Seq Scan', 'Bitmap Index Scan merchant_name_trgm', …"""
    out = []
    if node.get("Relation Name") == "vouchers_merchant" and "Bitmap" not in node["Node Type"]:
        out.append(node["Node Type"] + (f" {node['Index Name']}" if node.get("Index Name") else ""))
    if node["Node Type"] == "Bitmap Index Scan" and node.get("Index Name", "").startswith("merchant"):
        out.append(f"Bitmap Index Scan {node['Index Name']}")
    for child in node.get("Plans", []):
        out.extend(_merchant_access(child))
    return out


# --- over HTTP ----------------------------------------------------------------------------------

def over_http(env, workers, rounds):
    """The mix, one request at a time over 8 kept-alive connections to a cold server."""
    import http.client

    server = rush.start_server(env, workers)
    samples, failures, first = [], 0, None
    try:
        connections = [http.client.HTTPConnection("127.0.0.1", PORT, timeout=10) for _ in range(8)]
        n = 0
        for _ in range(rounds):
            for kind, params in QUERIES:
                n += 1
                conn = connections[n % len(connections)]
                t0 = time.perf_counter()
                conn.request("GET", url(params), headers={
                    "X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"})
                response = conn.getresponse()
                response.read()
                ms = (time.perf_counter() - t0) * 1000
                first = ms if first is None else first
                samples.append((kind, ms))
                if response.status != 200:
                    failures += 1
        for conn in connections:
            conn.close()
    finally:
        rush.stop_server(server)
    return samples, failures, first


WRK_LUA = r"""
local paths = {}
local counter = 0
function init(args)
  for p in string.gmatch(args[1], "[^ ]+") do table.insert(paths, p) end
end
function request()
  counter = counter + 1
  local i = (counter + math.random(#paths)) % #paths + 1
  wrk.headers["X-Forwarded-For"] = "10.9." .. (counter % 250) .. "." .. math.random(250)
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "min_us": %d, "p50_us": %d, ' ..
    '"p95_us": %d, "p99_us": %d, "max_us": %d, "status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency.min, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_run(env, workers, seconds, connections=16):
    server = rush.start_server(env, workers)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(WRK_LUA)
            script = f.name
        paths = " ".join(url(params) for _, params in QUERIES)
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
                              f"http://127.0.0.1:{PORT}/", "--", paths], capture_output=True, text=True)
        os.unlink(script)
    finally:
        rush.stop_server(server)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit("directory: wrk printed no result:\n" + out.stdout + out.stderr)
    return json.loads(line[len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help=f"times over the {len(QUERIES)} queries per mode")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 4)))
    parser.add_argument("--wrk-seconds", type=int, default=10, help="0: no wrk run")
    parser.add_argument("--no-analyze", action="store_true", help="no ANALYZE after the seed")
    parser.add_argument("--quiet-wait", type=int, default=300, help="wait this long at most for a quiet machine")
    args = parser.parse_args()

    env = rush.server_env(args.workers)
    env.update(DATABASE_URL=DB_URL, GUNICORN_BIND=f"127.0.0.1:{PORT}", NUM_PROXIES="1")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "IDENTITY_HASH_KEY",
                                           "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "DJANGO_SETTINGS_MODULE",
                                           "LOG_LEVEL")})
    os.environ["ALLOWED_HOSTS"] += ",testserver"
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(f"directory: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, git {git.strip()}, "
          f"{len(QUERIES)} queries × {args.rounds} rounds, {args.workers} workers")
    quiet = rush.wait_quiet(args.quiet_wait, "directory")
    fresh_database(env, analyze=not args.no_analyze)

    plans, direct, client = in_process(args.rounds)
    print("\nplans (EXPLAIN ANALYZE, ms; how vouchers_merchant is read)")
    for kind, params, found in plans:
        text = "  ".join(f"{label} {ms:5.2f} [{', '.join(access) or '-'}]" for label, ms, access in found)
        shown = "&".join(f"{k}={v}" for k, v in params.items())
        print(f"    {kind:<13} {shown:<42} {text}")
    print_table("in-process: cleaner + selector + count + page + serializer (what the view does)", direct)
    print_table("in-process: Django test client (middleware, throttle, DRF, JSON)", client)

    http_samples, failures, first = over_http(env, args.workers, args.rounds)
    print_table(f"HTTP: cold gunicorn ({args.workers} workers), one request at a time over 8 keep-alive "
                f"connections (first request {first:.1f} ms)", http_samples)
    wrk = None
    if args.wrk_seconds:
        wrk = wrk_run(env, args.workers, args.wrk_seconds)
        print(f"\nHTTP: wrk, 16 connections, {args.wrk_seconds} s, cold server: "
              f"{wrk['requests'] / (wrk['duration_us'] / 1e6):,.0f} req/s; min {wrk['min_us'] / 1000:.2f}  "
              f"p50 {wrk['p50_us'] / 1000:.2f}  p95 {wrk['p95_us'] / 1000:.2f}  p99 {wrk['p99_us'] / 1000:.2f}  "
              f"max {wrk['max_us'] / 1000:.2f} ms; non-2xx {wrk['status_errors']}, socket errors "
              f"{wrk['socket_errors']}")
    verdicts = {"in-process (view's work)": p95([ms for _, ms in direct]),
                "in-process (test client)": p95([ms for _, ms in client]),
                "HTTP, one at a time": p95([ms for _, ms in http_samples])}
    print(f"\nmachine quiet before: {'yes' if quiet['quiet'] else 'NO'}")
    ok = failures == 0 and (wrk is None or wrk["status_errors"] == 0)
    for name, value in verdicts.items():
        met = value < TARGET_P95_MS
        ok = ok and met
        print(f"p95 {name:<26} {value:6.2f} ms  {'meets' if met else 'MISSES'} the target (< {TARGET_P95_MS:.0f} ms)")
    print(f"failed requests: {failures}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
