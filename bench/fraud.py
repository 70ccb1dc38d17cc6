"""The nightly cash-out (상품권 깡) scan over a month of paper at city scale (issue #9: under 60 s).

    .venv/bin/python bench/fraud.py                       # 7,000 merchants, 150,000 buyers a month, 3 timed scans
    .venv/bin/python bench/fraud.py --buyers 20000 --runs 1   # a quick look

What one invocation does (bench/README.md has the figures):
1. drops and creates `jinju_fraudbench`, migrates it, and writes in bulk SQL:
   - the industry list and 7,000 approved merchants taking paper (18 eligible categories, declared
     revenue 200,000,000–2,000,000,000 KRW, representatives' names drawn from the same pool of
     common Korean names as the buyers', so homonyms happen as in life);
   - for the scanned month and the month before: one paper purchase per buyer (100,000–300,000 KRW in
     10,000-won notes, 30 % of buyers at the 300,000 limit), each spent at 2–6 random merchants (one
     visit each, the notes split evenly), each merchant taking its notes to the bank every third day
     (an Exchange with the notes redeemed in it), sale → exchange from 12 hours to about 15 days;
     ~3,000,000 notes and ~70,000 exchanges a month — the paper share of a day's 500,000 payments
     and exchanges (the mobile payments are not read by the scan and are not written);
   - two more months of each merchant's exchanges as amounts (the trailing average), the buyers'
     month usage for all three months, and a few ordinary refusals (expired notes);
   - the planted cash-out cases, one merchant each (PLANTED below), on top of ordinary traffic;
   then ANALYZE (an established database);
2. waits for a quiet machine (bench/common.wait_quiet);
3. `--runs` times: empties the signal table and times services.scan_cash_out over the month through
   Django, then times a rerun (which must create nothing); prints the scan's phases, whether each
   planted case was found by its rule, and the signals raised on ordinary merchants (false signals).
After the runs, min / median / max. Exit 1 if a planted case is missed, a rerun duplicates, or a
scan takes 60 s or more.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import spread  # noqa: E402

PROG = "fraud"
DB_NAME = "jinju_fraudbench"
MONTH = "2026-11"  # the scanned month; the data is the same whatever today is
SCAN_AT = "2026-12-01 02:30:00+09"  # the nightly run that scans it whole
TARGET_SECONDS = 60
SURNAMES = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송", "전", "홍"]
GIVEN = ["민준", "서연", "도윤", "서윤", "시우", "지우", "하준", "하윤", "주원", "지호", "지민", "수아", "예준", "지유",
         "현우", "채원", "준서", "지아", "건우", "다은", "우진", "은서", "선우", "예은", "서진", "민서", "연우", "하은",
         "유준", "수빈", "정우", "윤서", "승우", "가은", "승현", "예린", "준혁", "소율", "도현", "민지"]

# rule the planted case must raise → what is planted (each at its own merchant, see plant())
PLANTED = {
    "exchange_spike": "a merchant exchanging ten times its usual month",
    "exchange_above_category": "a merchant that has always exchanged eight times its category's median",
    "exchange_above_revenue": "a merchant declaring 24,000,000 a year (cap 2,000,000 a month) that exchanged "
                              "1,900,000 and was refused 50 notes over the cap",
    "quick_self_exchange": "the representative buys 300,000 under their own name; every note exchanged 3 hours later",
    "quick_concentrated": "a buyer's 300,000: 29 notes exchanged at one merchant 6 hours after the sale",
    "buyer_ring": "15 borrowed names buy 100,000 each; all their notes come back through one merchant within 2 days",
    "limit_buyer": "5 buyers at the 300,000 limit three months running, 90 % of their notes at one merchant",
    "refused_serial": "3 serials exchanged a second time and 2 serials that do not exist",
}


def psql(sql, db="postgres"):
    """bench.common.psql, saying what PostgreSQL said when a statement fails."""
    import subprocess

    try:
        return common.psql(sql, db)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"{PROG}: psql failed: {exc.stderr.strip()}")


def month_bounds(month):
    from vouchers import months

    return months.month_start(month), months.month_start(months.add_months(month, 1))


def build(args):
    """The month's data in bulk SQL (see the module docstring); returns seconds and row counts."""
    from vouchers import months, seed_merchants

    started = time.monotonic()
    n = args.merchants
    cats = ", ".join(f"('{c}', '{name}', false, '')" for c, name, reason in seed_merchants.CATEGORIES if not reason)
    surnames = "ARRAY[" + ", ".join(f"'{s}'" for s in SURNAMES) + "]"
    given = "ARRAY[" + ", ".join(f"'{g}'" for g in GIVEN) + "]"
    name_expr = (f"({surnames})[1 + floor(random() * {len(SURNAMES)})::int]"
                 f" || ({given})[1 + floor(random() * {len(GIVEN)})::int]")
    m0 = months.add_months(MONTH, -3)
    psql(f"""
        SELECT setseed(0.20261101);
        INSERT INTO vouchers_merchantcategory (code, name, excluded, excluded_reason) VALUES {cats};
        INSERT INTO vouchers_merchant (business_number, name, category_id, address, dong, phone, representative,
                                       annual_revenue, monthly_exchange_cap, accepts_paper, accepts_mobile, code,
                                       status, status_reason, status_changed_at, cancelled_for_illegal_exchange,
                                       illegal_exchange_cancelled_at, created_at)
        SELECT lpad(g::text, 10, '0'), '가게 ' || g,
               (SELECT id FROM vouchers_merchantcategory ORDER BY id OFFSET g % 18 LIMIT 1),
               '경상남도 진주시 ' || g, '가좌동', '', {name_expr},
               200000000 + floor(random() * 1800000000)::bigint, NULL, true, true, 'FB' || lpad(g::text, 6, '0'),
               'approved', '', timestamptz '2025-01-01 09:00+09', false, NULL, timestamptz '2025-01-01 09:00+09'
          FROM generate_series(1, {n}) g;
        INSERT INTO vouchers_tranche (name, medium, quota, sold, discount_rate, opens_at, closes_at, rotation, month,
                                      carried_in, carried_out, created_at)
        VALUES ('벤치 지류', 'paper', 1000000000000000, 0, 0.1, '2026-01-01 00:00+09', '2027-01-01 00:00+09', false,
                '', 0, 0, '2026-01-01 00:00+09');
        INSERT INTO vouchers_citizen (ci_hash, name, birth_year, created_at)
        SELECT md5('fraudbench-' || g), {name_expr}, 1950 + g % 55, timestamptz '2025-01-01 09:00+09'
          FROM generate_series(1, {args.buyers}) g;
        CREATE SEQUENCE bench_serial;
        -- trailing exchanges as amounts: ten a month per merchant, about what its notes will come to
        -- (as many 10,000-won notes as the amount: an exchange's amount is its notes, a CHECK of 0016)
        INSERT INTO vouchers_exchange (merchant_id, amount, accepted_count, refused_count, idempotency_key, serials,
                                       created_at)
        SELECT m.id, x.notes * 10000, x.notes, 0, '', '[]'::jsonb,
               timestamptz '{months.month_start(m0).isoformat()}' + (mo || ' months')::interval
                                                       + (d * 3 || ' days')::interval + interval '10 hours'
          FROM vouchers_merchant m, generate_series(0, 1) mo, generate_series(0, 9) d,
               LATERAL (SELECT round({args.buyers} * 226500.0 * 0.85 / {n} / 10 * (0.8 + random() * 0.4) / 10000
                                     + 0 * m.id)::int AS notes) x;
    """, DB_NAME)
    for month in (months.add_months(MONTH, -1), MONTH):
        month_of_paper(month, args)
    # the buyers' month usage: this month and last from the purchases; two months before, 30 % at the limit
    psql(f"""
        SELECT setseed(0.5);
        INSERT INTO vouchers_monthlyusage (citizen_id, month, monthly_limit, paper_limit, mobile_limit, yearly_limit,
                                           purchased, paper_purchased, mobile_purchased, updated_at)
        SELECT citizen_id, month, 300000, NULL, NULL, NULL, sum(face_value), sum(face_value), 0, max(created_at)
          FROM vouchers_purchase GROUP BY citizen_id, month;
        INSERT INTO vouchers_monthlyusage (citizen_id, month, monthly_limit, paper_limit, mobile_limit, yearly_limit,
                                           purchased, paper_purchased, mobile_purchased, updated_at)
        SELECT id, '{months.add_months(MONTH, -2)}', 300000, NULL, NULL, NULL, p, p, 0, now()
          FROM (SELECT id, CASE WHEN random() < 0.3 THEN 300000 ELSE 100000 + floor(random() * 20) * 10000 END AS p
                  FROM vouchers_citizen) c;
        -- ordinary refusals: notes past their validity (reason expired), 100 of them
        INSERT INTO vouchers_exchangerefusal (exchange_id, merchant_id, serial, note_id, reason, created_at)
        SELECT x.id, x.merchant_id, 'OLD' || x.id, NULL, 'expired', x.created_at
          FROM (SELECT * FROM vouchers_exchange WHERE created_at >= '{month_bounds(MONTH)[0].isoformat()}'
                 ORDER BY id LIMIT 100) x;
    """, DB_NAME)
    planted = plant(args)
    psql("ANALYZE", DB_NAME)
    counts = {t: int(psql(f"SELECT count(*) FROM {t}", DB_NAME)) for t in (
        "vouchers_merchant", "vouchers_citizen", "vouchers_purchase", "vouchers_papernote", "vouchers_exchange",
        "vouchers_exchangerefusal", "vouchers_monthlyusage")}
    counts["notes exchanged in the month"] = int(psql(
        f"SELECT count(*) FROM vouchers_papernote WHERE exchange_id IS NOT NULL AND status_changed_at >= "
        f"'{month_bounds(MONTH)[0].isoformat()}' AND status_changed_at < '{month_bounds(MONTH)[1].isoformat()}'",
        DB_NAME))
    return time.monotonic() - started, counts, planted


def month_of_paper(month, args):
    """One purchase per buyer in `month`, its notes spent at 2–6 merchants and exchanged every third day."""
    start, end = month_bounds(month)
    s, e = start.isoformat(), end.isoformat()
    psql(f"""
        SELECT setseed(0.{month.replace("-", "")});
        INSERT INTO vouchers_purchase (channel, citizen_id, tranche_id, medium, face_value, price, status, month,
                                       idempotency_key, created_at)
        SELECT 'branch', c.id, (SELECT id FROM vouchers_tranche LIMIT 1), 'paper', f, f * 9 / 10, 'completed',
               '{month}', '', timestamptz '{s}' + random() * interval '25 days' + interval '9 hours'
          FROM (SELECT id, CASE WHEN random() < 0.3 THEN 300000 ELSE 100000 + floor(random() * 20) * 10000 END AS f
                  FROM vouchers_citizen) c;
        CREATE UNLOGGED TABLE bench_visit0 AS
        SELECT p.id AS purchase_id, p.created_at AS sold_at, v.slot, v.k,
               (SELECT min(id) FROM vouchers_merchant) + floor(random() * {args.merchants})::int AS merchant_id,
               -- notes i of the purchase with i % k = slot
               (p.face_value / 10000 + v.k - 1 - v.slot) / v.k AS notes,
               p.created_at + interval '12 hours' + random() * random() * interval '30 days' AS spent_by
          FROM vouchers_purchase p
          CROSS JOIN LATERAL (SELECT 2 + floor(random() * 5 + p.id * 0)::int AS k) kk
          CROSS JOIN LATERAL (SELECT s AS slot, kk.k FROM generate_series(0, kk.k - 1) s) v
         WHERE p.month = '{month}';
        -- the merchant goes to the bank every third day (by its id) at a fixed time, after the spending
        CREATE UNLOGGED TABLE bench_visit AS
        SELECT q.*, CASE WHEN at < spent_by THEN at + interval '3 days' ELSE at END AS exchanged_at
          FROM (SELECT v.*, timestamptz '{s}' + (d + ((3 - (d + merchant_id) % 3) % 3)) * interval '1 day'
                            + interval '10 hours' + (merchant_id % 300) * interval '1 minute' AS at
                  FROM (SELECT *, floor(extract(epoch FROM spent_by - timestamptz '{s}') / 86400)::int AS d
                          FROM bench_visit0) v) q;
        DROP TABLE bench_visit0;
        INSERT INTO vouchers_exchange (merchant_id, amount, accepted_count, refused_count, idempotency_key, serials,
                                       created_at)
        SELECT merchant_id, sum(notes) * 10000, sum(notes), 0, '', '[]'::jsonb, exchanged_at FROM bench_visit
         WHERE exchanged_at < '{e}' GROUP BY merchant_id, exchanged_at;
        INSERT INTO vouchers_papernote (serial, denomination, status, purchase_id, tranche_id, issued_at, expires_at,
                                        status_changed_at, exchange_id)
        SELECT 'FB' || lpad(nextval('bench_serial')::text, 12, '0'), 10000,
               CASE WHEN x.id IS NULL THEN 'issued' ELSE 'redeemed' END, v.purchase_id,
               (SELECT id FROM vouchers_tranche LIMIT 1), v.sold_at, v.sold_at + interval '5 years',
               x.created_at, x.id
          FROM bench_visit v
          CROSS JOIN LATERAL generate_series(1, v.notes) g
          LEFT JOIN vouchers_exchange x ON x.merchant_id = v.merchant_id AND x.created_at = v.exchanged_at
                                       AND v.exchanged_at < '{e}';
        DROP TABLE bench_visit;
    """, DB_NAME)



def notes_of(amount: int) -> int:
    """An exchange planted as an amount counts as that many 10,000-won notes (0016: an amount has notes)."""
    return max(1, amount // 10_000)


def plant(args):
    """The cash-out cases, each at its own ordinary merchant (which keeps its ordinary traffic).
    Written through Django's ORM (a few hundred rows). Returns {rule: merchant_id}."""
    import datetime as dt

    from jinju_portal.identity import hash_identity
    from vouchers import months
    from vouchers.models import Citizen, Exchange, ExchangeRefusal, Merchant, MonthlyUsage, PaperNote, Purchase, Tranche

    start, _end = month_bounds(MONTH)
    tranche = Tranche.objects.get()
    ids = list(Merchant.objects.order_by("id").values_list("id", flat=True))
    at = {rule: ids[(i + 1) * len(ids) // 10] for i, rule in enumerate(PLANTED)}
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)
    serial = [0]

    def citizen(name):
        serial[0] += 1
        return Citizen.objects.create(ci_hash=hash_identity(f"PLANT-{serial[0]}"), name=name, birth_year=1970)

    def purchase(c, face, when, month=MONTH):
        p = Purchase.objects.create(channel="branch", citizen=c, tranche=tranche, medium="paper", face_value=face,
                                    price=face * 9 // 10, month=month, created_at=when)
        notes = []
        for _ in range(face // 10_000):
            serial[0] += 1
            notes.append(PaperNote(serial=f"PL{serial[0]:012d}", denomination=10_000, purchase=p, tranche=tranche,
                                   issued_at=when, expires_at=when + 1826 * day))
        return p, PaperNote.objects.bulk_create(notes)

    def hand_in(merchant_id, notes, when):
        x = Exchange.objects.create(merchant_id=merchant_id, amount=10_000 * len(notes), accepted_count=len(notes),
                                    created_at=when)
        PaperNote.objects.filter(pk__in=[n.pk for n in notes]).update(status="redeemed", status_changed_at=when,
                                                                       exchange=x)
        return x

    typical = int(psql(f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) FROM (SELECT sum(amount) s FROM "
                       f"vouchers_exchange WHERE created_at >= '{start.isoformat()}' GROUP BY merchant_id) q",
                       DB_NAME).split(".")[0])
    # spike: ten times its month, in ten exchanges (amounts only: the notes are beside the point here)
    for i in range(10):
        Exchange.objects.create(merchant_id=at["exchange_spike"], amount=typical, accepted_count=notes_of(typical),
                                created_at=start + (2 * i + 1) * day)
    # above its category's median, always: its trailing months raised to the same level
    Exchange.objects.create(merchant_id=at["exchange_above_category"], amount=8 * typical,
                            accepted_count=notes_of(8 * typical), created_at=start + 5 * day)
    for back in (1, 2, 3):
        Exchange.objects.create(merchant_id=at["exchange_above_category"], amount=8 * typical,
                                accepted_count=notes_of(8 * typical), created_at=months.month_start(months.add_months(MONTH, -back)) + 5 * day)
    # above what its revenue allows
    Merchant.objects.filter(pk=at["exchange_above_revenue"]).update(annual_revenue=24_000_000)
    Exchange.objects.filter(merchant_id=at["exchange_above_revenue"]).update(amount=0)
    x = Exchange.objects.create(merchant_id=at["exchange_above_revenue"], amount=1_900_000,
                                accepted_count=notes_of(1_900_000), refused_count=50,
                                created_at=start + 20 * day)
    _p, spare = purchase(citizen("남는사람"), 500_000, start + 19 * day)
    ExchangeRefusal.objects.bulk_create([ExchangeRefusal(exchange=x, merchant_id=x.merchant_id, serial=n.serial, note=n,
                                                         reason="exchange_cap_exceeded", created_at=x.created_at)
                                         for n in spare])
    # the representative's own notes
    Merchant.objects.filter(pk=at["quick_self_exchange"]).update(representative="진주 깡순")
    _p, notes = purchase(citizen("진주깡순"), 300_000, start + 3 * day + 10 * hour)
    hand_in(at["quick_self_exchange"], notes, start + 3 * day + 13 * hour)
    # most of one buyer's notes, quickly
    _p, notes = purchase(citizen("몰아주기"), 300_000, start + 7 * day + 9 * hour)
    hand_in(at["quick_concentrated"], notes[:29], start + 7 * day + 15 * hour)
    hand_in(ids[0], notes[29:], start + 12 * day + 10 * hour)
    # a ring of borrowed names
    for i in range(15):
        _p, notes = purchase(citizen(f"명의{i}"), 100_000, start + 10 * day + i * hour)
        hand_in(at["buyer_ring"], notes, start + 11 * day + 16 * hour + i * dt.timedelta(minutes=1))
    # buyers at the limit every month, whose notes go to one merchant (days later: not quick)
    for i in range(5):
        c = citizen(f"한도{i}")
        for back in (0, 1, 2):
            MonthlyUsage.objects.create(citizen=c, month=months.add_months(MONTH, -back), monthly_limit=300_000,
                                        purchased=300_000, paper_purchased=300_000)
        _p, notes = purchase(c, 300_000, start + 4 * day + i * hour)
        hand_in(at["limit_buyer"], notes[:27], start + 9 * day + 10 * hour + i * dt.timedelta(minutes=1))
        hand_in(ids[1], notes[27:], start + 9 * day + 10 * hour + i * dt.timedelta(minutes=1))
    # serials handed in twice, and serials that do not exist
    twice = list(PaperNote.objects.filter(status="redeemed", status_changed_at__gte=start).order_by("id")[:3])
    x = Exchange.objects.create(merchant_id=at["refused_serial"], amount=0, refused_count=5,
                                created_at=start + 15 * day)
    ExchangeRefusal.objects.bulk_create(
        [ExchangeRefusal(exchange=x, merchant_id=x.merchant_id, serial=n.serial, note=n, reason="already_redeemed",
                         created_at=x.created_at) for n in twice]
        + [ExchangeRefusal(exchange=x, merchant_id=x.merchant_id, serial=f"FAKE{i:08d}", reason="unknown",
                           created_at=x.created_at) for i in range(2)])
    return at


def one_run(label, planted):
    from django.db import connection

    from vouchers import services
    from vouchers.models import FraudSignal

    with connection.cursor() as cur:
        cur.execute("DELETE FROM vouchers_fraudsignal")  # the bench takes no action: nothing refers to them
    connection.close()
    now = _scan_at()
    started = time.monotonic()
    result = services.scan_cash_out(month=MONTH, now=now)
    seconds = time.monotonic() - started
    started = time.monotonic()
    rerun = services.scan_cash_out(month=MONTH, now=now)
    rerun_seconds = time.monotonic() - started
    found = {rule: FraudSignal.objects.filter(rule=rule, merchant_id=m).exists() for rule, m in planted.items()}
    planted_merchants = set(planted.values())
    false = {}
    for rule, merchant_id in FraudSignal.objects.values_list("rule", "merchant_id"):
        if merchant_id not in planted_merchants:
            false[rule] = false.get(rule, 0) + 1
    total = FraudSignal.objects.count()
    print(f"{PROG}: run {label}: scan {seconds:.1f} s ({result.created} signals), rerun {rerun_seconds:.1f} s "
          f"({rerun.created} new, {rerun.refreshed} refreshed); phases {result.timings}")
    print(f"    planted found: {sum(found.values())}/{len(found)}"
          + "".join(f"\n      {'yes' if ok else 'MISSED'}  {rule}" for rule, ok in found.items()))
    print(f"    signals on ordinary merchants: {sum(false.values())} {false}")
    return {"seconds": seconds, "rerun": rerun_seconds, "created": result.created, "rerun_created": rerun.created,
            "found": found, "false": false, "total": total, "timings": result.timings}


def wait_other_benchmarks():
    """Another engineer's benchmark announces itself with /tmp/BENCH_QUIET: wait until it is gone."""
    waited = 0
    while os.path.exists("/tmp/BENCH_QUIET"):
        time.sleep(15)
        waited += 15
    if waited:
        print(f"{PROG}: waited {waited} s for another benchmark (/tmp/BENCH_QUIET)")


def _scan_at():
    import datetime as dt

    return dt.datetime.fromisoformat(SCAN_AT)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--merchants", type=int, default=7_000)
    parser.add_argument("--buyers", type=int, default=150_000, help="paper buyers, one purchase each a month")
    parser.add_argument("--quiet-wait", type=int, default=600)
    parser.add_argument("--keep", action="store_true", help="reuse the database of the last invocation")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=common.db_url(DB_NAME), DEBUG="0", SECRET_KEY="bench-" + "x" * 50,
               IDENTITY_HASH_KEY="bench-identity-key", ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0",
               LOG_LEVEL="ERROR", DJANGO_SETTINGS_MODULE="jinju_portal.settings")
    common.use_env_here(env)
    import django

    django.setup()
    print(f"{PROG}: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {args.runs} runs, month {MONTH}, "
          f"{args.merchants:,} merchants, {args.buyers:,} buyers, git {common.git_head()}")
    if args.keep:
        planted = {}
        print(f"{PROG}: --keep: planted ids are not known; only times are meaningful")
    else:
        wait_other_benchmarks()
        common.wait_quiet(args.quiet_wait, "before the build", PROG)
        common.fresh_database(DB_NAME, env)
        seconds, counts, planted = build(args)
        print(f"{PROG}: data built in {seconds:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        size = psql(f"SELECT pg_size_pretty(pg_database_size('{DB_NAME}'))")
        print(f"{PROG}: database size {size}")
    wait_other_benchmarks()
    quiet = common.wait_quiet(args.quiet_wait, "before the scans", PROG)
    runs = [one_run(str(i + 1), planted) for i in range(args.runs)]
    print()
    print(f"=== {len(runs)} runs: min / median / max ===")
    print(f"machine quiet before         {'yes' if quiet['quiet'] else 'NO'}")
    scan_s = spread([r["seconds"] for r in runs], "{:.1f}")
    print(f"scan s                       {scan_s:<24} target < {TARGET_SECONDS}")
    print(f"rerun s                      {spread([r['rerun'] for r in runs], '{:.1f}')}")
    for phase in runs[0]["timings"]:
        print(f"  {phase:<26} {spread([r['timings'].get(phase, 0) for r in runs], '{:.2f}')}")
    print(f"signals                      {spread([r['total'] for r in runs], '{:.0f}')}")
    print(f"rerun new signals            {spread([r['rerun_created'] for r in runs], '{:.0f}')}   target 0")
    found = all(all(r["found"].values()) for r in runs) if planted else True
    print(f"planted cases found          {'all, every run' if found else 'MISSED some'}")
    print(f"signals on ordinary merchants {spread([sum(r['false'].values()) for r in runs], '{:.0f}')}  "
          f"by rule (run 1): {runs[0]['false']}")
    ok = found and all(r["rerun_created"] == 0 and r["seconds"] < TARGET_SECONDS for r in runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
