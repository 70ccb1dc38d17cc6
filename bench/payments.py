"""Pay-code payments at merchants' tills over HTTP through a cold server, then the invariants (issue #8).

    .venv/bin/python bench/payments.py                    # 3 runs: 20,000 payments at 64 connections each
    .venv/bin/python bench/payments.py --runs 1 --wallets 4000 --pgbench-transactions 100   # a quick look
    .venv/bin/python bench/payments.py --orm              # the ORM twin (VOUCHERS_FAST_SQL=0) instead

One run (bench/README.md has the figures):
1. waits for a quiet machine (as rush.py does);
2. drops and creates `jinju_paybench`, migrates it, and seeds it: the industry list and 7,000
   approved merchants taking mobile vouchers (vouchers.seed_merchants' demo shops), a
   `merchant_pos` key for each of them, three wallet apps (`sales_agent`), and 20,000 citizens each
   with a wallet funded by one mobile purchase, written in bulk SQL that keeps invariants 1–3
   (tranche sold = its purchases, month usage = the buyer's purchases, wallet = its ledger with
   balance_after); then ANALYZE of those seeded tables (an established database); the payment
   tables start empty and unanalyzed;
3. right before the phase, one pay code per wallet (bulk-inserted PayCode rows, valid 3 minutes,
   issued by one of the wallet apps; a tenth of the requests type the 6-digit short code), and the
   list of (POS key, pay code, amount, Idempotency-Key) for wrk: half of the payments at 10 busy
   merchants, the rest spread over all 7,000, each request with its merchant's own POS key;
4. phase: gunicorn with deploy/gunicorn.conf.py started cold, the cache (and so the merchant_pos
   throttle) in Redis db 14 as in a deployment (`--no-redis`: per-process memory), wrk at 64
   kept-alive connections sending every pair once (a connection whose list is used up idles); stopped
   once every code is spent (or nothing moved for 2 s); payments are counted every 0.25 s, CPU is
   split by process, seq scans / index scans per table are taken around it;
5. invariants in SQL: every wallet equals its ledger (and its last balance_after) and is >= 0;
   per merchant, payments = the ledger's payment lines; every used pay code has exactly one payment
   and every payment a used code, one ledger line and its stored idempotent answer; invariants 1–2
   of the seeded sales;
6. pgbench of the same SQL in the same run: the path's statements (the one payment statement of
   vouchers.db.payments, or the ORM twin's transaction as captured from a real request through
   Django) with a fresh pay code per transaction and a random merchant (half at the busy ten).
After --runs runs every figure as min / median / max. Exit 1 on a broken invariant or any 5xx.

Needs `wrk` and `pgbench` (Debian: apt-get install -y wrk postgresql-client).
"""
import argparse
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import PG, RESULTS, WRK_REPORT_LUA, fund_wallets, ms, psql, rate_by_phase, spread  # noqa: E402

PROG = "payments"
DB_NAME = "jinju_paybench"
PORT = 8124
REDIS_URL = "redis://127.0.0.1:6379/14"
PAYMENTS_PATH = "/api/v1/vouchers/payments/"
STAT_TABLES = ("vouchers_payment", "vouchers_paycode", "vouchers_wallet", "vouchers_walletentry", "vouchers_merchant",
               "portal_apiclient", "portal_idempotencyrecord", "vouchers_citizen")
ZERO_SEQ = ("vouchers_payment", "vouchers_paycode", "vouchers_wallet", "vouchers_walletentry", "vouchers_merchant",
            "portal_apiclient", "portal_idempotencyrecord")
SEEDED = ("vouchers_merchant", "vouchers_merchantcategory", "portal_apiclient", "vouchers_citizen",
          "vouchers_purchase", "vouchers_monthlyusage", "vouchers_wallet", "vouchers_walletentry",
          "vouchers_tranche", "vouchers_voucherevent")
WALLET_APPS = 3

LUA = r"""
-- Every line of the pairs file is one payment: POS key, pay code, amount, Idempotency-Key. Thread t
-- of n sends lines t, t+n, t+2n, … once each; when its lines are used up, delay() parks the
-- connection (the script stops wrk). Every request has its own Idempotency-Key.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1]); path = args[3]
  keys, codes, amounts, ikeys = {}, {}, {}, {}
  for line in io.lines(args[2]) do
    local k, c, a, i = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
    table.insert(keys, k); table.insert(codes, c); table.insert(amounts, a); table.insert(ikeys, i)
  end
  n = #keys
  counter = 0; counts = {}
  -- wrk calls thread 0's request() once before the run to check what it returns: not a payment
  verifying = (tid == 0)
end

function delay()
  if tid + counter * nthreads >= n then return 3600000 end
  return 0
end

function request()
  local i = tid + counter * nthreads + 1
  if verifying then verifying = false else counter = counter + 1 end
  return wrk.format("POST", path, {["Authorization"] = "Token " .. keys[i], ["Idempotency-Key"] = ikeys[i],
                                   ["Content-Type"] = "application/json"},
                    '{"pay_code":"' .. codes[i] .. '","amount":' .. amounts[i] .. '}')
end

""" + WRK_REPORT_LUA


# --- seeding ----------------------------------------------------------------------------------------

def seed(*, wallets, merchants, busy, face):
    """Merchants with their POS keys, wallet apps, and `wallets` funded wallets; returns what the
    phases need (ids, keys)."""
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from jinju_portal.identity import hash_identity
    from jinju_portal.models import ApiClient, Role
    from jinju_portal.services import issue_api_key
    from vouchers import months, rules, seed_merchants, services
    from vouchers.choices import EventKind, MerchantStatus
    from vouchers.models import Merchant, MerchantCategory, Tranche, VoucherEvent
    from vouchers.selectors import limits_for_month
    from vouchers.services import events

    now = timezone.now()
    for code, name, reason in seed_merchants.CATEGORIES:
        services.create_merchant_category(code=code, name=name, excluded=bool(reason), excluded_reason=reason, now=now)
    categories = dict(MerchantCategory.objects.values_list("code", "pk"))
    rows = [row for row in seed_merchants.demo_rows() if row["accepts_mobile"]][:merchants]
    with transaction.atomic():
        shops = Merchant.objects.bulk_create([
            Merchant(**{k: v for k, v in row.items() if k != "category"}, category_id=categories[row["category"]],
                     status=MerchantStatus.APPROVED, status_reason="bench", status_changed_at=now, created_at=now)
            for row in rows], batch_size=1000)
        VoucherEvent.objects.bulk_create([events.build(EventKind.MERCHANT_APPROVED, now=now, merchant=m, note="bench",
                                                       after={"status": MerchantStatus.APPROVED}) for m in shops],
                                         batch_size=1000)
        pos_keys = [ApiClient.new_key() for _ in shops]
        clients = []
        for shop, key in zip(shops, pos_keys):
            client = ApiClient(name=f"POS {shop.code}", role=Role.MERCHANT_POS,
                               merchant_business_number=shop.business_number)
            client.set_key(key)
            clients.append(client)
        clients = ApiClient.objects.bulk_create(clients, batch_size=1000)
    merchant_ids = [m.pk for m in shops]
    client_ids = [c.pk for c in clients]
    # pgbench picks merchants by id arithmetic: both id ranges must be contiguous and parallel
    assert merchant_ids == list(range(merchant_ids[0], merchant_ids[0] + len(shops)))
    assert client_ids == list(range(client_ids[0], client_ids[0] + len(shops)))
    apps = [issue_api_key(name=f"벤치 지갑 앱 {i + 1}", role="sales_agent")[0].pk for i in range(WALLET_APPS)]

    # Funded wallets, in bulk, as the sale would have left them: one mobile purchase each.
    month = months.month_of(now)
    limits = limits_for_month(month)
    tranche = Tranche.objects.create(name="벤치 결제용 모바일", medium="mobile", quota=wallets * face,
                                     discount_rate="0.1000", opens_at=now - dt.timedelta(hours=1),
                                     closes_at=now + dt.timedelta(days=1))
    price = face * 9 // 10
    ci_hashes = [hash_identity(f"PAYBENCH-CI-{i}") for i in range(wallets)]
    with transaction.atomic(), connection.cursor() as cur:
        wallet_ids = fund_wallets(cur, ci_hashes=ci_hashes, app_id=apps[0], tranche_id=tranche.pk, face=face,
                                  price=price, month=month, now=now, limits=limits, expires_at=rules.expires(now))
    connection.close()
    step = len(shops) // busy
    busy_idx = [j * step for j in range(busy)]
    return {"merchant_ids": merchant_ids, "client_ids": client_ids, "pos_keys": pos_keys, "apps": apps,
            "wallet_ids": wallet_ids, "busy_idx": busy_idx, "busy_step": step, "face": face}


def issue_codes(wallet_ids, apps, *, token_of=None):
    """One active pay code per wallet, valid rules.PAY_CODE_VALIDITY from now, as issue_pay_code writes
    them (32-character token, a 6-digit short code unique among active codes, the issuing app).
    Voids what is still active first (a new code voids the old one). Returns [(token, short)] in
    wallet order, and the `now` they were issued at."""
    from django.db import connection
    from django.utils import timezone

    from vouchers import rules

    now = timezone.now()
    shorts = random.sample(range(10 ** rules.SHORT_CODE_DIGITS), len(wallet_ids))
    codes = [((token_of(i) if token_of else secrets.token_urlsafe(24)), f"{s:06d}") for i, s in enumerate(shorts)]
    with connection.cursor() as cur:
        cur.execute("UPDATE vouchers_paycode SET status = 'voided', used_at = %s WHERE status = 'active'", [now])
        cur.execute("INSERT INTO vouchers_paycode (wallet_id, token, short_code, status, api_client_id, user_id, "
                    "created_at, expires_at, used_at) "
                    "SELECT w, t, s, 'active', a, NULL, %s, %s, NULL "
                    "FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::bigint[]) AS x(w, t, s, a)",
                    [now, now + rules.PAY_CODE_VALIDITY, wallet_ids, [t for t, _ in codes], [s for _, s in codes],
                     [apps[i % len(apps)] for i in range(len(wallet_ids))]])
    connection.close()
    return codes, now


def write_pairs(path, data, codes, *, busy_share, short_share, label, rng):
    """The wrk input: one line per payment, wallets in random order; half (busy_share) at the busy
    merchants. Returns the merchant index of each line."""
    order = list(range(len(codes)))
    rng.shuffle(order)
    n_merchants = len(data["merchant_ids"])
    picks = []
    with open(path, "w") as f:
        for j, w in enumerate(order):
            m = rng.choice(data["busy_idx"]) if rng.random() < busy_share else rng.randrange(n_merchants)
            token, short = codes[w]
            code = short if rng.random() < short_share else token
            amount = rng.randrange(1_000, 50_001, 10)
            f.write(f"{data['pos_keys'][m]}\t{code}\t{amount}\tpb{label}-{j}\n")
            picks.append(m)
    return picks


# --- the phase --------------------------------------------------------------------------------------

def run_phase(*, pairs_path, n, connections, cap_seconds, server_pid, py_spy, py_spy_bin, run_label, payments_before,
              threads=2):
    """wrk over the pairs; stopped half a second after every code is spent, or after nothing moved
    for 2 s (refusals). Payments are counted every 0.25 s."""
    import psycopg2

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
        script = f.name
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{cap_seconds}s", "--timeout", "10s", "-s", script,
           f"http://127.0.0.1:{PORT}{PAYMENTS_PATH}", "--", str(threads), str(pairs_path), PAYMENTS_PATH]
    cpu_before, t_before = common.cpu_ticks_by_group(server_pid, DB_NAME), time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spy = None
    if py_spy:
        RESULTS.mkdir(exist_ok=True)
        spy = subprocess.Popen([py_spy_bin, "record", "--pid", str(common.worker_pids(server_pid)[0]), "-d",
                                str(py_spy), "-r", "200", "-f", "raw", "-o",
                                str(RESULTS / f"py-spy-payments-{run_label}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = []
    conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
    conn.autocommit = True
    start = time.monotonic()
    with conn.cursor() as cur:
        last_change, last = start, -1
        while proc.poll() is None:
            time.sleep(0.25)
            # the payment id sequence, not the table: the poll adds no scan to the table statistics
            cur.execute("SELECT coalesce(pg_sequence_last_value('vouchers_payment_id_seq'), 0)")
            done = cur.fetchone()[0] - payments_before
            t = time.monotonic()
            progress.append((t - start, done))
            if done != last:
                last, last_change = done, t
            if done >= n or (done > 0 and t - last_change > 2.0):
                time.sleep(0.5)
                proc.send_signal(signal.SIGINT)
                break
    conn.close()
    stdout, stderr = proc.communicate()
    cpu = common.cpu_percent(cpu_before, common.cpu_ticks_by_group(server_pid, DB_NAME), time.monotonic() - t_before)
    if spy is not None:
        spy.wait(timeout=py_spy + 30)
    os.unlink(script)
    line = next((x for x in stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"{PROG}: wrk printed no result:\n" + stdout + stderr)
    result = json.loads(line[len("RESULT "):])
    result.update(cpu=cpu, progress=progress)
    return result


def phase_window(label):
    row = psql(f"SELECT count(*), coalesce(sum(amount), 0), extract(epoch from max(created_at) - min(created_at)) "
               f"FROM vouchers_payment WHERE idempotency_key LIKE 'pb{label}-%'", DB_NAME)
    count, total, seconds = row.split("|")
    return int(count), int(total), float(seconds or 0)


def busy_payments(label, busy_ids):
    return int(psql(f"SELECT count(*) FROM vouchers_payment WHERE idempotency_key LIKE 'pb{label}-%' "
                    f"AND merchant_id IN ({', '.join(map(str, busy_ids))})", DB_NAME))


# --- invariants -------------------------------------------------------------------------------------

CHECKS = {
    "per merchant, payments equal the ledger's payment lines": """
        SELECT coalesce(p.merchant_id, l.merchant_id) FROM
          (SELECT merchant_id, sum(amount) AS s FROM vouchers_payment GROUP BY merchant_id) p
          FULL JOIN (SELECT pm.merchant_id, -sum(e.amount) AS s FROM vouchers_walletentry e
                       JOIN vouchers_payment pm ON pm.id = e.payment_id WHERE e.kind = 'payment'
                      GROUP BY pm.merchant_id) l ON l.merchant_id = p.merchant_id
         WHERE p.s IS DISTINCT FROM l.s""",
    "every used pay code has exactly one payment, every pay-code payment a used code": """
        SELECT c.id FROM vouchers_paycode c
          LEFT JOIN (SELECT pay_code_id, count(*) AS n FROM vouchers_payment WHERE pay_code_id IS NOT NULL
                      GROUP BY pay_code_id) p ON p.pay_code_id = c.id
         WHERE (c.status = 'used') <> (coalesce(p.n, 0) = 1) OR coalesce(p.n, 0) > 1""",
    "every payment has one ledger line of its amount": """
        SELECT p.id FROM vouchers_payment p
          LEFT JOIN (SELECT payment_id, count(*) AS n, sum(amount) AS s FROM vouchers_walletentry
                      WHERE kind = 'payment' GROUP BY payment_id) e ON e.payment_id = p.id
         WHERE coalesce(e.n, 0) <> 1 OR e.s <> -p.amount::bigint""",
    "every keyed payment has its stored answer (201, its id)": """
        SELECT p.id FROM vouchers_payment p
          LEFT JOIN portal_idempotencyrecord r ON r.owner = 'client:' || p.api_client_id AND r."key" = p.idempotency_key
         WHERE p.idempotency_key <> '' AND (r.id IS NULL OR r.status_code <> 201
                                            OR (r.response_body ->> 'id')::bigint <> p.id)""",
    "1: sold == sum of live purchases and <= quota": """
        SELECT t.id FROM vouchers_tranche t
         WHERE t.sold <> (SELECT coalesce(sum(face_value), 0) FROM vouchers_purchase p
                           WHERE p.tranche_id = t.id AND p.status <> 'cancelled') OR t.sold > t.quota""",
    "2: usage equals the buyer's purchases of the month, within the limit": """
        SELECT u.citizen_id FROM vouchers_monthlyusage u
         WHERE u.purchased > u.monthly_limit
            OR u.purchased <> (SELECT coalesce(sum(face_value), 0) FROM vouchers_purchase p
                                WHERE p.citizen_id = u.citizen_id AND p.month = u.month AND p.status <> 'cancelled')""",
}


def check_invariants():
    bad = []
    broken = common.wallet_violations(DB_NAME)
    if broken:
        bad.append(f"invariant 3 (wallet == ledger, >= 0) broken for wallets {broken}")
    for name, sql in CHECKS.items():
        rows = psql(sql + " LIMIT 5", DB_NAME)
        if rows:
            bad.append(f"invariant {name} broken for: {rows.splitlines()}")
    return bad


# --- pgbench: the same SQL --------------------------------------------------------------------------

PGBENCH_PICK = """\\set n :n + 1
\\set k :client_id * {per_client} + :n
\\set b random(0, 99)
\\set j random(0, {busy_last})
\\set r random(0, {last})
\\set i case when :b < {busy_pct} then :j * {busy_step} else :r end
\\set m {m0} + :i
\\set cl {c0} + :i
\\set x random(100, 5000) * 10
"""


def capture_one_payment(data, *, code):
    """One real payment through Django in-process (the view, @idempotent, the service) with every
    statement it sends to PostgreSQL; the merchant is the first busy one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    i = data["busy_idx"][0]
    http = APIClient(SERVER_NAME="localhost")
    http.credentials(HTTP_AUTHORIZATION=f"Token {data['pos_keys'][i]}")
    with CaptureQueriesContext(connection) as queries:
        response = http.post(PAYMENTS_PATH, {"pay_code": code, "amount": 1_000}, format="json",
                             headers={"Idempotency-Key": "pgbench-capture"})
    if response.status_code != 201:
        sys.exit(f"{PROG}: the captured payment answered {response.status_code}: {response.content[:300]}")
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("PREPARE ")]  # once per session
    connection.close()
    return sql, response.json()


def _sub(pattern, repl, text, what):
    new, count = re.subn(pattern, repl, text)
    if count < 1:
        sys.exit(f"{PROG}: the captured ORM statements changed ({what} not found); update orm_pgbench_script")
    return new


def orm_pgbench_script(captured, answer, data, code_token):
    """The ORM twin's transaction exactly as captured (minus DRF's key lookup), its values replaced by
    pgbench variables: the pay code `'pgb' || :k`, the ids it reads back through \\gset, the random
    merchant :m and its POS client :cl, the amount :x. The merchant is found by id instead of by
    business number (the same unique-index probe; pgbench cannot pick a business number)."""
    pid, wallet_balance = answer["id"], None
    lines = []
    for sql in captured:
        head = sql.split()[0]
        if '"portal_apiclient"' in sql and head == "SELECT":
            continue  # authentication, not the payment (cached per process for the busy tills)
        if head == "SELECT" and '"vouchers_merchant"' in sql:
            sql = _sub(r'"vouchers_merchant"\."business_number" = \'\d+\'', '"vouchers_merchant"."id" = :m', sql,
                       "merchant by business number")
        elif head == "SELECT" and '"vouchers_paycode"' in sql:
            sql = _sub(re.escape(f"'{code_token}'"), "('pgb' || :k::bigint)", sql, "pay code token") + " \\gset pc_"
        elif head == "SELECT" and "FOR UPDATE" in sql:
            sql = _sub(r'"vouchers_wallet"\."id" = \d+', '"vouchers_wallet"."id" = :pc_wallet_id', sql, "wallet")
            sql += " \\gset w_"
        elif head == "UPDATE" and '"vouchers_paycode"' in sql:
            sql = _sub(r'"vouchers_paycode"\."id" = \d+', '"vouchers_paycode"."id" = :pc_id', sql, "code id")
        elif head == "SELECT" and '"vouchers_walletentry"' in sql:
            sql = _sub(r'"vouchers_walletentry"\."wallet_id" = \d+', '"vouchers_walletentry"."wallet_id" = :pc_wallet_id',
                       sql, "expired-credit check")
        elif head == "INSERT" and '"vouchers_payment"' in sql:
            sql = _sub(r"VALUES \(\d+, \d+, 'pay_code', \d+, \d+, \d+, NULL, 1000,",
                       "VALUES (:m, :pc_wallet_id, 'pay_code', :pc_id, :cl, :pc_api_client_id, NULL, :x,", sql,
                       "payment values")
            sql = _sub(r"'pgbench-capture'", "('pgb-' || :k::bigint)", sql, "payment key") + " \\gset p_"
        elif head == "UPDATE" and '"vouchers_wallet"' in sql:
            m = re.search(r'SET "balance" = (\d+)', sql)
            wallet_balance = m and int(m.group(1))
            sql = _sub(r'SET "balance" = \d+', 'SET "balance" = :w_balance::bigint - :x::bigint', sql, "new balance")
            sql = _sub(r'"vouchers_wallet"\."id" = \d+', '"vouchers_wallet"."id" = :pc_wallet_id', sql, "wallet id")
        elif head == "INSERT" and '"vouchers_walletentry"' in sql:
            sql = _sub(rf"VALUES \(\d+,\s+-1000, {wallet_balance}, 'payment', NULL, 'payment:{pid}',",
                       "VALUES (:pc_wallet_id, -(:x::bigint), :w_balance::bigint - :x::bigint, 'payment', NULL, "
                       "('payment:' || :p_id::bigint),", sql,
                       "ledger line values")
            sql = _sub(rf", {pid}\) RETURNING", ", :p_id) RETURNING", sql, "ledger line payment id")
        elif "portal_idempotencyrecord" in sql:
            sql = _sub(r"'pgbench-capture'", "('pgb-' || :k::bigint)", sql, "idempotency key")
            sql = _sub(r"'client:\d+'", "('client:' || :cl::bigint)", sql, "idempotency owner")
            if head == "UPDATE":  # the stored answer carries this payment's id (the invariants check it)
                sql = _sub(r"('\{.*\}'::jsonb)", r"(\1 || jsonb_build_object('id', :p_id::bigint))", sql,
                           "stored answer")
        lines.append(sql)
    if lines[0] != "BEGIN" or lines[-1] != "COMMIT":
        sys.exit(f"{PROG}: the captured ORM payment is not one transaction: {lines[0]!r} … {lines[-1]!r}")
    # a \gset ends its query in place of the semicolon
    body = "\n".join(_no_colon_literals(s) + ("" if "\\gset" in s else ";") for s in lines)
    return _pick(data) + body + "\n"


def _no_colon_literals(text):
    """pgbench -M prepared turns every `:name`, even inside a string literal, into a parameter: spell the
    colon of literals like 'payment:1' as chr(58) (rush.py's pgbench script does the same)."""
    return re.sub(r"'([^']*)'", lambda m: "'" + re.sub(r":(?=[A-Za-z_])", "' || chr(58) || '", m.group(1)) + "'",
                  text)


def _pick(data):
    n = len(data["merchant_ids"])
    return PGBENCH_PICK.format(per_client=data["per_client"], busy_last=len(data["busy_idx"]) - 1, last=n - 1,
                               busy_pct=int(data["busy_share"] * 100), busy_step=data["busy_step"],
                               m0=data["merchant_ids"][0], c0=data["client_ids"][0])


def sql_pgbench_script(data, now):
    """The one payment statement (vouchers.db.payments), as the service sends it, keyed."""
    import psycopg2

    from vouchers.db import payments as payment_sql

    conn = psycopg2.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=DB_NAME)
    text = payment_sql.pgbench_script(now=now, mogrify=conn.cursor().mogrify)
    conn.close()
    return _pick(data) + text


def pgbench_same_sql(args, data, *, fast):
    """Fresh codes 'pgb<k>' for clients × transactions wallets, the script of this path, pgbench -t."""
    clients, per_client = args.pgbench_clients, args.pgbench_transactions
    total = clients * per_client
    if total + 1 > len(data["wallet_ids"]):
        sys.exit(f"{PROG}: pgbench needs {total + 1} wallets, there are {len(data['wallet_ids'])}")
    data = {**data, "per_client": per_client, "busy_share": args.busy_share}
    wallets = data["wallet_ids"][:total + 1]
    codes, now = issue_codes(wallets, data["apps"], token_of=lambda i: f"pgb{i + 1}" if i < total else "pgbcapture")
    captured, answer = capture_one_payment(data, code=codes[total][0])
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("pgbench-payment-sql.sql" if fast else "pgbench-payment-orm.sql")
    if fast:
        script = sql_pgbench_script(data, now)
    else:
        script = orm_pgbench_script(captured, answer, data, codes[total][0])
    path.write_text(script)  # kept, to rerun by hand (after issuing fresh 'pgb<k>' codes)
    tps, failed = common.run_pgbench(path, db=DB_NAME, clients=clients, transactions=per_client,
                                     defines={"n": 0}, prog=PROG)
    spent = int(psql("SELECT count(*) FROM vouchers_payment WHERE idempotency_key LIKE 'pgb-%'", DB_NAME))
    return {"tps": tps, "failed": failed, "spent": spent, "expected": total, "statements": captured,
            "script": str(path)}


# --- one run ----------------------------------------------------------------------------------------

def one_run(args, env, label):
    quiet = common.wait_quiet(args.quiet_wait, f"run {label}", prog=PROG)
    print(f"{PROG}: run {label}: fresh database {DB_NAME}: {args.merchants:,} merchants, {args.wallets:,} wallets")
    common.fresh_database(DB_NAME, env)
    if not args.no_redis:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    t = time.monotonic()
    data = seed(wallets=args.wallets, merchants=args.merchants, busy=args.busy, face=args.face)
    psql("ANALYZE " + ", ".join(SEEDED), DB_NAME)
    seeded_in = time.monotonic() - t
    seeded_bad = check_invariants()

    rng = random.Random(f"{args.seed}-{label}")
    codes, _ = issue_codes(data["wallet_ids"], data["apps"])
    pairs = Path(tempfile.gettempdir()) / f"paybench-pairs-{label}.tsv"
    picks = write_pairs(pairs, data, codes, busy_share=args.busy_share, short_share=args.short_share, label=label,
                        rng=rng)
    planner_before = common.planner_view(DB_NAME, STAT_TABLES)
    payments_before = int(psql("SELECT coalesce(pg_sequence_last_value('vouchers_payment_id_seq'), 0)", DB_NAME))
    psql("SELECT pg_stat_reset()", DB_NAME)
    before = common.table_stats(DB_NAME, STAT_TABLES)
    server = common.start_server(env, args.workers, log_name="paybench-gunicorn.log", prog=PROG)
    try:
        phase = run_phase(pairs_path=pairs, n=len(picks), connections=args.connections, cap_seconds=args.cap_seconds,
                          server_pid=server.pid, py_spy=args.py_spy, py_spy_bin=args.py_spy_bin, run_label=label,
                          payments_before=payments_before)
        rss = common.worker_rss_mb(server.pid)
    finally:
        common.stop_server(server)
    common.wait_sessions_gone(DB_NAME)
    scans = common.scans_between(before, common.table_stats(DB_NAME, STAT_TABLES))
    planner_after = common.planner_view(DB_NAME, STAT_TABLES)
    count, total, window = phase_window(label)
    busy_ids = [data["merchant_ids"][i] for i in data["busy_idx"]]
    at_busy = busy_payments(label, busy_ids)
    violations = seeded_bad + check_invariants()

    pg = pgbench_same_sql(args, data, fast=not args.orm)
    violations += [v for v in check_invariants() if v not in violations]
    if pg["spent"] != pg["expected"]:
        violations.append(f"pgbench spent {pg['spent']} codes of {pg['expected']}")

    fivexx = sum(v for k, v in phase["codes"].items() if k.startswith("5"))
    rate = count / window if window else 0.0
    r = {
        "label": label, "quiet": quiet, "seeded_in": seeded_in, "pairs": len(picks), "count": count, "total": total,
        "window": window, "rate": rate, "at_busy": at_busy, "phase": phase, "phases": rate_by_phase(phase["progress"]),
        "rss": rss, "fivexx": fivexx, "scans": scans, "planner_before": planner_before,
        "planner_after": planner_after, "pg": pg, "ratio": rate / pg["tps"] if pg["tps"] else 0.0,
        "violations": violations,
        "non2xx": {k: v for k, v in phase["codes"].items() if not k.startswith("2")},
        "gunicorn_ms": phase["cpu"]["gunicorn"] / 100 / rate * 1000 if rate else 0.0,
        "postgres_ms": phase["cpu"]["postgres"] / 100 / rate * 1000 if rate else 0.0,
    }
    print_run(r, args)
    return r


def print_run(r, args):
    ph = r["phase"]
    print()
    print(f"=== run {r['label']} ({'ORM twin' if args.orm else 'one-statement path'}) ===")
    print(f"seeded in               {r['seeded_in']:.1f} s")
    print(f"payments                {r['count']:,} of {r['pairs']:,} sent ({r['total']:,}원), "
          f"{r['at_busy']:,} at the {args.busy} busy merchants; {ph['requests']:,} answers")
    print(f"payments/s              {r['rate']:,.0f} at {args.connections} connections "
          f"(first → last payment {r['window']:.1f} s)")
    if r["phases"]:
        print(f"payments/s by third     {' → '.join(f'{x:,.0f}' for x in r['phases'])}")
    print(f"latency                 p50 {ms(ph['p50_us'])}  p90 {ms(ph['p90_us'])}  p99 {ms(ph['p99_us'])}  "
          f"max {ms(ph['max_us'])}")
    print(f"answers                 {json.dumps(ph['codes'], sort_keys=True)}")
    print(f"non-2xx                 {json.dumps(r['non2xx'], sort_keys=True) if r['non2xx'] else 'none'}")
    print(f"socket errors           connect {ph['connect_errors']}, read {ph['read_errors']}, "
          f"write {ph['write_errors']}, timeout {ph['timeouts']}")
    print("CPU %                   " + ", ".join(f"{k} {v:.0f}" for k, v in ph["cpu"].items())
          + f"   (of {os.cpu_count() * 100}; `other` = everything else on the machine)")
    print(f"CPU per payment         gunicorn {r['gunicorn_ms']:.2f} ms, PostgreSQL {r['postgres_ms']:.2f} ms")
    print(f"RSS per worker          {', '.join(f'{x:.0f} MB' for x in r['rss'])}")
    print("during the phase        table: seq scans / rows read by seq scans / index scans (live rows after;"
          " planner's pages/tuples before → after)")
    for t in STAT_TABLES:
        seq, tup, idx, live = r["scans"][t]
        pb, pa = r["planner_before"].get(t, ("?", "?")), r["planner_after"].get(t, ("?", "?"))
        print(f"    {t:<26} {seq:>7,} / {tup:>11,} / {idx:>8,}   ({live:,} rows; {pb[0]}/{pb[1]} → {pa[0]}/{pa[1]})")
    pg = r["pg"]
    print(f"statements per payment  {len(pg['statements'])} sent by Django for one payment (DRF's key lookup on a cold "
          f"key cache included, PREPARE once per connection not): {', '.join(q.split()[0] for q in pg['statements'])}")
    print(f"pgbench, same SQL       {pg['tps']:,.0f} tps at {args.pgbench_clients} clients × "
          f"{args.pgbench_transactions} transactions, -M prepared ({pg['failed']} failed; {pg['script']})")
    print(f"HTTP / pgbench          {r['ratio']:.2f}")
    print(f"invariants              {'hold' if not r['violations'] else 'BROKEN'}")
    for v in r["violations"]:
        print("   ", v)
    sys.stdout.flush()


def print_summary(runs, args):
    print()
    print(f"=== {len(runs)} runs: min / median / max ===")
    print(f"machine quiet before    {', '.join('yes' if r['quiet']['quiet'] else 'NO' for r in runs)}")
    rows = [
        (f"payments/s @{args.connections}", [r["rate"] for r in runs], "{:,.0f}", "≥ 800"),
        ("p50 ms", [r["phase"]["p50_us"] / 1000 for r in runs], "{:.1f}", ""),
        ("p90 ms", [r["phase"]["p90_us"] / 1000 for r in runs], "{:.1f}", ""),
        ("p99 ms", [r["phase"]["p99_us"] / 1000 for r in runs], "{:.1f}", "< 100"),
        ("max ms", [r["phase"]["max_us"] / 1000 for r in runs], "{:.1f}", ""),
        ("pgbench same SQL tps", [r["pg"]["tps"] for r in runs], "{:,.0f}", ""),
        ("HTTP / pgbench", [r["ratio"] for r in runs], "{:.2f}", ""),
        ("CPU other %", [r["phase"]["cpu"]["other"] for r in runs], "{:.0f}", ""),
        ("CPU gunicorn %", [r["phase"]["cpu"]["gunicorn"] for r in runs], "{:.0f}", ""),
        ("CPU postgres %", [r["phase"]["cpu"]["postgres"] for r in runs], "{:.0f}", ""),
        ("gunicorn CPU ms/payment", [r["gunicorn_ms"] for r in runs], "{:.2f}", ""),
        ("postgres CPU ms/payment", [r["postgres_ms"] for r in runs], "{:.2f}", ""),
        ("non-2xx", [sum(r["non2xx"].values()) for r in runs], "{:.0f}", "0"),
        ("5xx", [r["fivexx"] for r in runs], "{:.0f}", "0"),
    ]
    for t in STAT_TABLES:
        rows.append((f"seq scans {t.split('_', 1)[1]}", [r["scans"][t][0] for r in runs], "{:,.0f}",
                     "0" if t in ZERO_SEQ else ""))
    for name, values, fmt, target in rows:
        print(f"{name:<28} {spread(values, fmt):<28} {('target ' + target) if target else ''}")
    codes = {}
    for r in runs:
        for k, v in r["non2xx"].items():
            codes[k] = codes.get(k, 0) + v
    print(f"non-2xx by status/code       {json.dumps(codes, sort_keys=True) if codes else 'none in any run'}")
    print(f"invariants                   {'hold in every run' if not any(r['violations'] for r in runs) else 'BROKEN'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wallets", type=int, default=20_000, help="funded wallets = payments per run (one code each)")
    parser.add_argument("--merchants", type=int, default=7_000)
    parser.add_argument("--busy", type=int, default=10, help="busy merchants")
    parser.add_argument("--busy-share", type=float, default=0.5, help="share of the payments at the busy merchants")
    parser.add_argument("--short-share", type=float, default=0.1, help="share of the codes typed as 6 digits")
    parser.add_argument("--face", type=int, default=200_000, help="each wallet's one purchase")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 4)))
    parser.add_argument("--cap-seconds", type=int, default=170, help="stop the phase after this long (codes live 180 s)")
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--pgbench-transactions", type=int, default=1_000, help="per client; one fresh code each")
    parser.add_argument("--orm", action="store_true", help="measure the ORM twin (VOUCHERS_FAST_SQL=0)")
    parser.add_argument("--no-redis", action="store_true", help="cache and throttles in per-process memory")
    parser.add_argument("--no-lean", action="store_true",
                        help="every payment through Django and DRF (VOUCHERS_LEAN_POS=0, vouchers/api/pos.py)")
    parser.add_argument("--seed", default="paybench")
    parser.add_argument("--py-spy", type=int, default=0, metavar="SECONDS",
                        help="record one worker with py-spy for SECONDS during each phase (bench/results/)")
    parser.add_argument("--py-spy-bin", default="/tmp/pytools/bin/py-spy")
    parser.add_argument("--quiet-wait", type=int, default=600, help="wait this long at most for a quiet machine")
    args = parser.parse_args()

    common.need("wrk", "wrk", PROG)
    common.need("pgbench", "postgresql-client", PROG)
    env = common.server_env(db=DB_NAME, port=PORT, workers=args.workers, redis_url="" if args.no_redis else REDIS_URL)
    env["VOUCHERS_FAST_SQL"] = "0" if args.orm else "1"
    env["VOUCHERS_LEAN_POS"] = "0" if args.no_lean else "1"
    common.use_env_here(env)
    os.environ["VOUCHERS_FAST_SQL"] = env["VOUCHERS_FAST_SQL"]
    import django

    django.setup()
    print(f"{PROG}: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {args.runs} runs, {args.workers} workers, "
          f"{'ORM twin' if args.orm else 'one-statement path'}, "
          f"{'through Django' if args.no_lean else 'lean POS entry'}, cache {'memory' if args.no_redis else REDIS_URL}, "
          f"git {common.git_head()}")
    runs = [one_run(args, env, str(i + 1)) for i in range(args.runs)]
    print_summary(runs, args)
    ok = all(not r["violations"] and r["fivexx"] == 0 for r in runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
