"""Delivery operators reporting orders over HTTP through a cold server, then invariant 5 in SQL (issue #10).

    .venv/bin/python bench/orders.py                      # 3 runs of 30 s at 32 keep-alive connections
    .venv/bin/python bench/orders.py --runs 1 --seconds 15   # a quick look
    .venv/bin/python bench/orders.py --jinju-share 0      # card and cash only
    .venv/bin/python bench/orders.py --py-spy 10          # record one worker (py-spy in its own venv)

One run (bench/README.md has the figures):
1. waits for a quiet machine (bench/common.py);
2. a fresh, migrated `jinju_bench_orders`: 3 operators each with a 2 % contract, 450 approved stores
   each listed with all 3 operators and linked to an approved voucher merchant taking mobile vouchers,
   one `delivery_operator` key per operator (unthrottled, as operators' keys are unless the city sets
   a rate: an operator's system reports for the whole city), and `--wallets` funded wallets written in bulk SQL as the sale
   leaves them (wallet = ledger); then ANALYZE of the seeded tables;
3. right before the phase one pay code per wallet (bench/payments.issue_codes);
4. phase: gunicorn with deploy/gunicorn.conf.py started cold, the cache (and so the throttle) in Redis
   db 12, wrk at 32 kept-alive connections for `--seconds`: every request a new external_id, a random
   operator and store, food 8,000–60,000원, fee 0–4,000원, ordered_at the wrk clock's now; card and cash
   half and half, and `--jinju-share` of the requests jinju_love with a pre-issued pay code (each code
   once; a thread whose codes are used up sends card);
5. checks in SQL: every 201 is one order and every order was answered 201 (counted once), commission =
   floor(food × rate) on every order, every jinju_love order holds one payment of food + fee to its
   store's merchant, every wallet equals its ledger (invariant 3).
Prints orders/s, p50/p90/p99, the answers by status and code, CPU by process. Exit 1 on a broken check
or any 5xx.

Needs `wrk` (Debian: apt-get install -y wrk).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import RESULTS, WRK_REPORT_LUA, fund_wallets, ms, psql, spread  # noqa: E402

PROG = "orders"
DB_NAME = "jinju_bench_orders"
PORT = 8126
REDIS_URL = "redis://127.0.0.1:6379/12"
ORDERS_PATH = "/api/v1/delivery/orders/"
OPERATORS = (("smartro", "㈜스마트로", "1148100001"), ("aramsol", "㈜아람솔루션", "1148100002"),
             ("honeybiz", "㈜허니비즈", "1148100003"))
SEEDED = ("delivery_operator", "delivery_store", "delivery_storelisting", "delivery_commissioncontract",
          "vouchers_merchant", "portal_apiclient", "vouchers_citizen", "vouchers_wallet", "vouchers_walletentry",
          "vouchers_purchase", "vouchers_tranche", "vouchers_monthlyusage")

LUA = r"""
-- args: keys file (one operator key a line), stores file (one store id a line), codes file (one pay
-- code a line), run label, jinju_love share (0–1), number of wrk threads.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  for line in io.lines(path) do if line ~= "" then table.insert(out, line) end end
  return out
end

function init(args)
  keys = lines(args[1]); stores = lines(args[2]); codes = lines(args[3])
  label = args[4]; share = tonumber(args[5]); nthreads = tonumber(args[6])
  counter = 0; counts = {}; code_i = 0
  math.randomseed(os.time() * 100 + tid)
end

function request()
  counter = counter + 1
  local method, code = (math.random() < 0.5) and "card" or "cash", nil
  if math.random() < share then
    local i = tid + code_i * nthreads + 1
    if i <= #codes then code_i = code_i + 1; method = "jinju_love"; code = codes[i] end
  end
  local body = string.format(
    '{"store":%s,"external_id":"%s-%d-%d","food_amount":%d,"delivery_fee":%d,"payment_method":"%s",' ..
    '"ordered_at":"%s"%s}',
    stores[math.random(#stores)], label, tid, counter, math.random(80, 600) * 100, math.random(0, 8) * 500, method,
    os.date("!%Y-%m-%dT%H:%M:%S+00:00"), code and (',"pay_code":"' .. code .. '"') or "")
  return wrk.format("POST", nil, {["Authorization"] = "Token " .. keys[math.random(#keys)],
                                  ["Content-Type"] = "application/json"}, body)
end

""" + WRK_REPORT_LUA


# --- seeding ----------------------------------------------------------------------------------------

def seed(*, stores, wallets, face):
    """Operators, contracts, keys, stores with their listings and merchants, funded wallets."""
    import datetime as dt
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from delivery.models import CommissionContract, Operator, Store, StoreListing
    from jinju_portal import bizno
    from jinju_portal.identity import hash_identity
    from jinju_portal.services import issue_api_key
    from vouchers import merchant_codes, months, rules, seed_merchants, services
    from vouchers.models import Merchant, MerchantCategory, Tranche
    from vouchers.selectors import limits_for_month

    now = timezone.now()
    for code, name, reason in seed_merchants.CATEGORIES:
        services.create_merchant_category(code=code, name=name, excluded=bool(reason), excluded_reason=reason, now=now)
    category = MerchantCategory.objects.filter(excluded=False).order_by("pk").first()
    keys, operators = [], []
    with transaction.atomic():
        for slug, name, number in OPERATORS:
            operator = Operator.objects.create(slug=slug, name=name, business_number=number,
                                               selected_on=dt.date(2020, 11, 20), agreement_signed_on=dt.date(2020, 12, 15))
            CommissionContract.objects.create(operator=operator, rate=Decimal("0.0200"), effective_from=dt.date(2021, 1, 1))
            _client, key = issue_api_key(name=f"벤치 {name}", role="delivery_operator", operator_slug=slug)
            keys.append(key)
            operators.append(operator)
        numbers = []
        for n in range(stores):
            first_nine = f"223{81 + n // 10_000 % 10:02d}{n % 10_000:04d}"
            numbers.append(first_nine + str(bizno.check_digit(first_nine)))
        merchants = Merchant.objects.bulk_create([
            Merchant(business_number=b, name=f"벤치 배달가게 {i}", category=category, address="경상남도 진주시 진주대로 1",
                     dong="가좌동", representative="김진주", annual_revenue=100_000_000, accepts_paper=False,
                     accepts_mobile=True, code=merchant_codes.new_code(), status="approved", status_changed_at=now,
                     created_at=now) for i, b in enumerate(numbers)], batch_size=1000)
        shops = Store.objects.bulk_create([
            Store(business_number=m.business_number, name=m.name, category="chicken", address=m.address, dong=m.dong,
                  merchant=m, status="approved", approved_at=now, created_at=now) for m in merchants], batch_size=1000)
        StoreListing.objects.bulk_create([StoreListing(store=s, operator=o, created_at=now)
                                          for s in shops for o in operators], batch_size=2000)
    app = issue_api_key(name="벤치 지갑 앱", role="sales_agent")[0].pk

    month = months.month_of(now)
    limits = limits_for_month(month)
    tranche = Tranche.objects.create(name="벤치 배달 결제용 모바일", medium="mobile", quota=max(wallets, 1) * face,
                                     discount_rate="0.1000", opens_at=now - dt.timedelta(hours=1),
                                     closes_at=now + dt.timedelta(days=1))
    ci_hashes = [hash_identity(f"ORDERBENCH-CI-{i}") for i in range(wallets)]
    with transaction.atomic(), connection.cursor() as cur:  # as bench/payments.py seeds them
        wallet_ids = fund_wallets(cur, ci_hashes=ci_hashes, app_id=app, tranche_id=tranche.pk, face=face,
                                  price=face * 9 // 10, month=month, now=now, limits=limits, expires_at=rules.expires(now))
    connection.close()
    return {"keys": keys, "store_ids": [s.pk for s in shops], "wallet_ids": wallet_ids, "apps": [app]}


# --- the phase --------------------------------------------------------------------------------------

def run_phase(*, files, label, share, seconds, connections, server_pid, py_spy, py_spy_bin, threads=2):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        script = f.name
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
           f"http://127.0.0.1:{PORT}{ORDERS_PATH}", "--", *map(str, files), label, str(share), str(threads)]
    cpu_before, t_before = common.cpu_ticks_by_group(server_pid, DB_NAME), time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spy = None
    if py_spy:
        RESULTS.mkdir(exist_ok=True)
        time.sleep(min(3, seconds / 4))  # past the cold start
        spy = subprocess.Popen([py_spy_bin, "record", "--pid", str(common.worker_pids(server_pid)[0]), "-d",
                                str(py_spy), "-r", "200", "-f", "raw", "-o", str(RESULTS / f"py-spy-orders-{label}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stdout, stderr = proc.communicate()
    cpu = common.cpu_percent(cpu_before, common.cpu_ticks_by_group(server_pid, DB_NAME), time.monotonic() - t_before)
    if spy is not None:
        spy.wait(timeout=py_spy + 30)
    os.unlink(script)
    line = next((x for x in stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"{PROG}: wrk printed no result:\n" + stdout + stderr)
    result = json.loads(line[len("RESULT "):])
    result["cpu"] = cpu
    return result


# --- checks -----------------------------------------------------------------------------------------

CHECKS = {
    "commission = floor((food − waived) × rate), the fee never in it": """
        SELECT id FROM delivery_order
         WHERE commission <> floor((food_amount - commission_waived) * commission_rate)::bigint""",
    "the rate is the contract's": """
        SELECT o.id FROM delivery_order o JOIN delivery_commissioncontract c ON c.id = o.contract_id
         WHERE o.commission_rate <> c.rate OR c.operator_id <> o.operator_id""",
    "every jinju_love order holds one payment of food + fee to its store's merchant": """
        SELECT o.id FROM delivery_order o
          JOIN delivery_store s ON s.id = o.store_id
          LEFT JOIN vouchers_payment p ON p.id = o.payment_id
         WHERE (o.payment_method = 'jinju_love') <> (p.id IS NOT NULL)
            OR (p.id IS NOT NULL AND (p.amount <> o.food_amount + o.delivery_fee OR p.merchant_id <> s.merchant_id))""",
    "every payment belongs to one order": """
        SELECT p.id FROM vouchers_payment p LEFT JOIN delivery_order o ON o.payment_id = p.id WHERE o.id IS NULL""",
    "every order's month is the Seoul month of ordered_at": """
        SELECT id FROM delivery_order WHERE month <> to_char(ordered_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM')""",
}


def check(result, label, connections):
    bad = []
    created = sum(v for k, v in result["codes"].items() if k == "201")
    count = int(psql(f"SELECT count(*) FROM delivery_order WHERE external_id LIKE '{label}-%'", DB_NAME))
    # wrk stops with a request in flight on each connection: those orders are written, not counted by wrk
    if not created <= count <= created + connections:
        bad.append(f"orders in the database {count:,}, answered 201 {created:,} (+ at most {connections} in flight)")
    dupes = psql("SELECT operator_id, external_id FROM delivery_order GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5",
                 DB_NAME)
    if dupes:
        bad.append(f"an external_id counted twice: {dupes}")
    for name, sql in CHECKS.items():
        rows = psql(sql + " LIMIT 5", DB_NAME)
        if rows:
            bad.append(f"{name}: broken for {rows.splitlines()}")
    broken = common.wallet_violations(DB_NAME)
    if broken:
        bad.append(f"invariant 3 (wallet == ledger, >= 0) broken for wallets {broken}")
    return bad, count


# --- one run ----------------------------------------------------------------------------------------

def one_run(args, env, label):
    from bench.payments import issue_codes

    quiet = common.wait_quiet(args.quiet_wait, f"run {label}", prog=PROG)
    print(f"{PROG}: run {label}: fresh database {DB_NAME}: {args.stores} stores × {len(OPERATORS)} operators, "
          f"{args.wallets:,} wallets")
    common.fresh_database(DB_NAME, env)
    if not args.no_redis:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    data = seed(stores=args.stores, wallets=args.wallets, face=args.face)
    psql("ANALYZE " + ", ".join(SEEDED), DB_NAME)
    tmp = Path(tempfile.gettempdir())
    files = [tmp / f"orderbench-keys-{label}.txt", tmp / f"orderbench-stores-{label}.txt",
             tmp / f"orderbench-codes-{label}.txt"]
    files[0].write_text("\n".join(data["keys"]) + "\n")
    files[1].write_text("\n".join(map(str, data["store_ids"])) + "\n")
    codes = []
    if data["wallet_ids"]:
        issued, _ = issue_codes(data["wallet_ids"], data["apps"])
        rng = random.Random(label)
        codes = [short if rng.random() < 0.1 else token for token, short in issued]
    files[2].write_text("\n".join(codes) + "\n")
    server = common.start_server(env, args.workers, log_name="bench-orders-gunicorn.log", prog=PROG)
    try:
        result = run_phase(files=files, label=f"b{label}", share=args.jinju_share if codes else 0,
                           seconds=args.seconds, connections=args.connections, server_pid=server.pid,
                           py_spy=args.py_spy, py_spy_bin=args.py_spy_bin)
    finally:
        common.stop_server(server)
    common.wait_sessions_gone(DB_NAME)
    bad, count = check(result, f"b{label}", args.connections)
    window = psql("SELECT extract(epoch from max(reported_at) - min(reported_at)), "
                  "count(*) FILTER (WHERE payment_method = 'jinju_love') FROM delivery_order", DB_NAME).split("|")
    seconds, jinju = float(window[0] or 0), int(window[1])
    rate = count / seconds if seconds else 0.0
    five = sum(v for k, v in result["codes"].items() if k.startswith("5"))
    cpu = result["cpu"]
    print(f"{PROG}: run {label}: {count:,} orders ({jinju:,} jinju_love) in {seconds:.1f} s = {rate:,.0f} orders/s "
          f"@{args.connections}; p50 {ms(result['p50_us'])}, p90 {ms(result['p90_us'])}, p99 {ms(result['p99_us'])}, "
          f"max {ms(result['max_us'])}")
    print(f"{PROG}: run {label}: answers {dict(sorted(result['codes'].items()))}; socket errors "
          f"{result['connect_errors'] + result['read_errors'] + result['write_errors']}, timeouts {result['timeouts']}")
    print(f"{PROG}: run {label}: CPU % — " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
          + (f"; per order: gunicorn {cpu['gunicorn'] * 10 * seconds / max(count, 1):.2f} ms, PostgreSQL "
             f"{cpu['postgres'] * 10 * seconds / max(count, 1):.2f} ms" if count else ""))
    for line in bad:
        print(f"{PROG}: run {label}: BROKEN: {line}")
    if not bad:
        print(f"{PROG}: run {label}: checks hold (counted once, commission = floor(food × rate), payments = orders, "
              "wallet == ledger)")
    return {"rate": rate, "p50": result["p50_us"], "p90": result["p90_us"], "p99": result["p99_us"], "bad": bad,
            "five": five, "quiet": quiet, "cpu": cpu, "count": count}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 4)))
    parser.add_argument("--stores", type=int, default=450)
    parser.add_argument("--wallets", type=int, default=5000, help="funded wallets, one pay code each")
    parser.add_argument("--face", type=int, default=200_000)
    parser.add_argument("--jinju-share", type=float, default=0.1, help="share of requests paid with Jinju Love")
    parser.add_argument("--quiet-wait", type=int, default=300)
    parser.add_argument("--no-redis", action="store_true", help="cache and throttle in process memory")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (to profile)")
    parser.add_argument("--py-spy", type=int, default=0, help="seconds of py-spy on one worker")
    parser.add_argument("--py-spy-bin", default="py-spy")
    args = parser.parse_args()
    common.need("wrk", "wrk", PROG)
    env = common.server_env(db=DB_NAME, port=PORT, workers=args.workers, redis_url="" if args.no_redis else REDIS_URL)
    common.use_env_here(env)
    import django

    django.setup()
    print(f"{PROG}: tree {common.git_head()}, {args.workers} workers, {args.connections} connections, "
          f"{args.seconds} s a run, jinju_love share {args.jinju_share}")
    runs = [one_run(args, env, str(i + 1)) for i in range(args.runs)]
    if len(runs) > 1:
        print(f"{PROG}: {len(runs)} runs, min / median / max: orders/s {spread([r['rate'] for r in runs])}; "
              f"p50 {spread([r['p50'] / 1000 for r in runs], '{:.1f}')} ms; "
              f"p90 {spread([r['p90'] / 1000 for r in runs], '{:.1f}')} ms; "
              f"p99 {spread([r['p99'] / 1000 for r in runs], '{:.1f}')} ms")
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    if any(r["bad"] or r["five"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
