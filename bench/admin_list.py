"""City staff's admin with a million purchases: how long each purchases/citizens page takes to answer.

    .venv/bin/python bench/admin_list.py                 # 1,000,000 purchases, 200,000 citizens
    .venv/bin/python bench/admin_list.py --purchases 200000

Builds the data with plain SQL in a fresh database `jinju_bench_admin` (the sale path is measured by
bench/rush.py; here only the size of the tables matters), ANALYZEs it, then renders each admin page
through Django's test client as a superuser — the full view, template and SQL — and prints the median
and worst of several renders, with the number of queries and the slowest query of each page.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "jinju_bench_admin"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


def psql(sql, db="postgres"):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                   check=True, capture_output=True, text=True)


def build(purchases, citizens):
    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": DB_URL}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    psql(f"""
        INSERT INTO vouchers_tranche (name, medium, quota, sold, discount_rate, opens_at, closes_at, rotation,
                                      month, carried_in, carried_out, created_at)
        VALUES ('벤치 지류', 'paper', 1000000000000000, 0, 0.1, '2025-12-01', '2026-12-01', false, '', 0, 0, now()),
               ('벤치 모바일', 'mobile', 1000000000000000, 0, 0.1, '2025-12-01', '2026-12-01', false, '', 0, 0, now());
        INSERT INTO vouchers_citizen (ci_hash, name, birth_year, created_at)
        SELECT md5('bench-' || g), '시민' || g, 1950 + g % 60, now() FROM generate_series(1, {citizens}) g;
        INSERT INTO vouchers_purchase (channel, citizen_id, tranche_id, medium, face_value, price, status, month,
                                       idempotency_key, created_at)
        SELECT (ARRAY['branch', 'zeropay_app', 'web'])[1 + g % 3],
               (SELECT min(id) FROM vouchers_citizen) + g % {citizens},
               (SELECT min(id) FROM vouchers_tranche) + (CASE WHEN g % 4 = 0 THEN 0 ELSE 1 END),
               CASE WHEN g % 4 = 0 THEN 'paper' ELSE 'mobile' END,
               100000, 90000,
               CASE WHEN g % 50 = 0 THEN 'cancelled' ELSE 'completed' END,
               to_char(date '2025-12-01' + ((g % 12) || ' months')::interval, 'YYYY-MM'), '',
               timestamptz '2025-12-01 09:00+09' + (g * 25 || ' seconds')::interval
          FROM generate_series(1, {purchases}) g;
        ANALYZE;
    """, DB_NAME)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--citizens", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"admin_list: building {args.purchases:,} purchases for {args.citizens:,} citizens in {DB_NAME}")
    seconds = build(args.purchases, args.citizens)
    print(f"admin_list: data built in {seconds:.0f} s")

    os.environ.update(DATABASE_URL=DB_URL, DJANGO_SETTINGS_MODULE="jinju_portal.settings", DEBUG="1",
                      LOG_LEVEL="ERROR")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from vouchers.models import Citizen, Purchase, Tranche

    admin_user = get_user_model().objects.create_superuser("bench-admin", "bench@example.kr", "x")
    client = Client()
    client.force_login(admin_user)
    tranche = Tranche.objects.order_by("id").first()
    purchase = Purchase.objects.order_by("-id").first()
    citizen = Citizen.objects.order_by("id").first()
    pages = [
        ("purchases, newest first", "/admin/vouchers/purchase/"),
        ("purchases, page 50", "/admin/vouchers/purchase/?p=50"),
        ("purchases, one month", "/admin/vouchers/purchase/?month=2026-03"),
        ("purchases, month + medium + status", "/admin/vouchers/purchase/?month=2026-03&medium__exact=paper"
                                               "&status__exact=cancelled"),
        ("purchases, channel", "/admin/vouchers/purchase/?channel__exact=web"),
        ("purchases, tranche", f"/admin/vouchers/purchase/?tranche={tranche.pk}"),
        ("purchases, search by id", f"/admin/vouchers/purchase/?q={purchase.pk}"),
        ("one purchase", f"/admin/vouchers/purchase/{purchase.pk}/change/"),
        ("citizens", "/admin/vouchers/citizen/"),
        ("one citizen with purchases", f"/admin/vouchers/citizen/{citizen.pk}/change/"),
        ("tranches with live sold", "/admin/vouchers/tranche/"),
    ]
    print()
    print(f"{'page':38} {'median':>9} {'worst':>9} {'queries':>8} {'slowest query':>14}")
    worst_overall = 0.0
    for label, url in pages:
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t0)
            if response.status_code != 200:
                sys.exit(f"admin_list: {url} answered {response.status_code}")
        slowest = max((float(q["time"]) for q in queries.captured_queries), default=0.0)
        worst_overall = max(worst_overall, max(times))
        print(f"{label:38} {statistics.median(times) * 1000:7.0f} ms {max(times) * 1000:7.0f} ms "
              f"{len(queries.captured_queries):8d} {slowest * 1000:11.0f} ms")
    print()
    print(f"admin_list: slowest render {worst_overall * 1000:.0f} ms with {args.purchases:,} purchases")


if __name__ == "__main__":
    main()
