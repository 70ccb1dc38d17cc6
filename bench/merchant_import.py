"""The city's merchant list imported in the admin: 7,000 rows, CSV and XLSX, dry run and import.

    .venv/bin/python bench/merchant_import.py            # 7,000 rows, CSV then XLSX, on a fresh database
    .venv/bin/python bench/merchant_import.py --rows 2000 --formats csv

Builds a fresh database `jinju_bench_import` (migrated; the industry list of seed_demo, no
merchants), writes the sheet from the demo merchants' generator (vouchers/seed_merchants.py:
valid business numbers under Jinju's tax office, real 읍면동, the Korean headers of
vouchers/merchant_list.py) as CSV (UTF-8 with BOM) and XLSX, and sends it through the admin's own
views with Django's test client as a signed-in clerk — the upload (import-export's dry run,
services.preview_merchant_import, the preview page of every row) and the confirm
(services.import_merchants, the redirect) — timing each, with the stages inside the dry run
(reading the file, the resource's dry run, rendering the page). Per format, three imports:

1. new: 7,000 rows never registered → 7,000 merchants pending, 7,000 events;
2. again: the same file → every row unchanged, nothing written;
3. edited: 10 % of the rows with a new address, 1 % with a bad business number → updates, refusals.

Waits first (up to --quiet-wait) for a quiet machine, as bench/rush.py does. Target: each dry run
and each import under 30 s (the request timeout is 30 s, deploy/gunicorn.conf.py).
Exit status 1 if one misses it or a count is wrong. Runs in-process with DEBUG=1 (as
bench/admin_list.py: the template's static files need no collectstatic); nobody else uses the database.
"""
import argparse
import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import rush  # noqa: E402  (bench/rush.py: the quiet-machine wait)
DB_NAME = "jinju_bench_import"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
TARGET_S = 30.0


def psql(sql, db="postgres"):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                   check=True, capture_output=True, text=True)


def fresh_database():
    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": DB_URL}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def sheet_rows(n, *, edited=False):
    """The first n demo merchants as the city's sheet writes them; `edited`: every 10th with a new
    address, every 100th with a wrong check digit."""
    from vouchers import merchant_list, seed_merchants

    names = {code: name for code, name, _ in seed_merchants.CATEGORIES}
    rows = []
    for i, merchant in zip(range(n), seed_merchants.demo_rows()):
        values = {**merchant, "category": names[merchant["category"]]}
        cells = [merchant_list.shown(c.field, values[c.field]) for c in merchant_list.COLUMNS]
        if edited and i % 10 == 5:
            cells[3] = cells[3] + " 2층"
        if edited and i % 100 == 7:
            cells[0] = cells[0][:-1] + str((int(cells[0][-1]) + 1) % 10)
        rows.append(cells)
    return rows


def file_bytes(rows, fmt):
    from vouchers import merchant_list

    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(merchant_list.HEADERS)
        writer.writerows(rows)
        return out.getvalue().encode("utf-8-sig")
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(merchant_list.HEADERS)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Timer:
    def __init__(self):
        self.parts = {}

    def wrap(self, obj, name, label):
        original = getattr(obj, name)
        parts = self.parts

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                parts[label] = parts.get(label, 0.0) + time.perf_counter() - t0

        setattr(obj, name, timed)
        return original


def one_import(client, content, fmt, label, expect):
    """Upload (dry run + preview page), then confirm (the import); returns the figures."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from import_export.formats import base_formats

    from vouchers import merchant_import, services
    from vouchers.models import Merchant, VoucherEvent

    timer = Timer()
    originals = [
        (merchant_import.SpreadsheetCSV, "create_dataset", timer.wrap(merchant_import.SpreadsheetCSV, "create_dataset",
                                                                       "read file")),
        (base_formats.XLSX, "create_dataset", timer.wrap(base_formats.XLSX, "create_dataset", "read file")),
        (merchant_import.MerchantListResource, "import_data",
         timer.wrap(merchant_import.MerchantListResource, "import_data", "import-export + service")),
        (services, "preview_merchant_import", timer.wrap(services, "preview_merchant_import", "service: check")),
        (services, "import_merchants", timer.wrap(services, "import_merchants", "service: check + write")),
    ]
    events_before = VoucherEvent.objects.count()
    try:
        t0 = time.perf_counter()
        page = client.post(reverse("admin:vouchers_merchant_import"), {
            "resource": "0", "format": "0" if fmt == "csv" else "1", "note": f"bench {label}",
            "progress_token": "ab" * 16, "import_file": SimpleUploadedFile(f"명단.{fmt}", content)})
        page.content  # rendered
        dry = time.perf_counter() - t0
        dry_parts = dict(timer.parts)
        timer.parts.clear()
        if page.status_code != 200:
            sys.exit(f"merchant_import: upload answered {page.status_code}")
        counts = page.context["summary"]
        form = page.context.get("confirm_form")
        real, real_parts, status = 0.0, {}, None
        if form is not None:
            data = {name: form.initial.get(name, "") for name in form.fields}
            t0 = time.perf_counter()
            done = client.post(reverse("admin:vouchers_merchant_process_import"), data)
            real = time.perf_counter() - t0
            real_parts, status = dict(timer.parts), done.status_code
    finally:
        for obj, name, original in originals:
            setattr(obj, name, original)
    html_mb = len(page.content) / 1e6
    dry_parts["the view and its page"] = dry - sum(v for k, v in dry_parts.items() if k not in ("service: check",))
    written = VoucherEvent.objects.count() - events_before
    ok = all(counts[k] == v for k, v in expect.items()) and dry < TARGET_S and real < TARGET_S
    print(f"\n{fmt.upper()} {label}: {len(content) / 1e6:.2f} MB, {counts['rows']:,} rows → new {counts['create']:,}, "
          f"updated {counts['update']:,}, unchanged {counts['unchanged']:,}, refused {counts['refused']:,}")
    print(f"    dry run (upload → preview page of every row, {html_mb:.1f} MB of HTML)  {dry:6.2f} s   "
          + ", ".join(f"{k} {v:.2f}" for k, v in dry_parts.items()))
    if form is not None:
        print(f"    import  (confirm → redirect {status})                          {real:6.2f} s   "
              + ", ".join(f"{k} {v:.2f}" for k, v in real_parts.items()))
    else:
        print("    import  (nothing to write: no confirm step)")
    print(f"    events written {written:,}; merchants now {Merchant.objects.count():,}; "
          f"{'OK' if ok else 'MISSED: ' + repr(expect)}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=7000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--quiet-wait", type=int, default=300, help="wait this long at most for a quiet machine")
    args = parser.parse_args()
    if not 100 <= args.rows <= 8500:
        sys.exit("merchant_import: --rows between 100 and 8,500 (the demo generator's merchants)")

    os.environ.update(DATABASE_URL=DB_URL, DJANGO_SETTINGS_MODULE="jinju_portal.settings", DEBUG="1", LOG_LEVEL="ERROR")
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(f"merchant_import: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, git {git.strip()}, "
          f"{args.rows:,} rows, formats {args.formats}")
    quiet = rush.wait_quiet(args.quiet_wait, "merchant_import")
    ok = True
    for fmt in args.formats.split(","):
        fresh_database()
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import setup_test_environment

        from vouchers import seed_merchants, services

        if fmt == args.formats.split(",")[0]:
            setup_test_environment()  # the client's response.context
        for code, name, reason in seed_merchants.CATEGORIES:
            services.create_merchant_category(code=code, name=name, excluded=bool(reason), excluded_reason=reason)
        clerk = get_user_model().objects.create_superuser("bench-clerk", "clerk@example.kr", "x")
        client = Client()
        client.force_login(clerk)
        n = args.rows
        edited_bad = len([i for i in range(n) if i % 100 == 7])
        edited_changed = len([i for i in range(n) if i % 10 == 5 and i % 100 != 7])
        first = file_bytes(sheet_rows(n), fmt)
        ok &= one_import(client, first, fmt, "new", {"create": n, "refused": 0})
        ok &= one_import(client, first, fmt, "again", {"unchanged": n, "create": 0, "update": 0})
        ok &= one_import(client, file_bytes(sheet_rows(n, edited=True), fmt), fmt, "edited",
                         {"update": edited_changed, "refused": edited_bad})
        connection.close()
    print(f"\nmachine quiet before: {'yes' if quiet['quiet'] else 'NO'}")
    print(f"merchant_import: every dry run and import under {TARGET_S:.0f} s and as expected: {'yes' if ok else 'NO'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
