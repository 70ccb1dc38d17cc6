"""Autovacuum takes no planner statistics of the sale's growing tables while they are tiny.

PostgreSQL plans a lookup by key on a table that was never vacuumed or analyzed as if it had at
least 10 pages (an index scan). Once VACUUM or ANALYZE has recorded a table as empty or a few rows
on a page or two, a plan made while the table is still that small is a sequential scan, and
sessions cache such plans: the sale's prepared statement and the foreign-key checks its INSERTs
fire (walletentry → purchase, wallet; purchase, usage, wallet → citizen). At default thresholds
autovacuum analyzes a table at its next visit once ~50 rows changed — after a few test sales
before the opening, or in the rush's first second — and the cached sequential scans then read the
whole table for every sale, until the next ANALYZE, while it grows by hundreds of rows a second
(bench/README.md, "Seq scans": ANALYZE after 51 sales → 6,198 seq scans of purchase reading 19 M
rows in a 23 s rush; no ANALYZE, or one after 1,009 sales → none).

So these tables are vacuumed or analyzed automatically only after 1,000 changed rows (plus the
usual fraction of the table). At 1,000 rows every table here is past the size where a sequential
scan looks cheaper than its unique index, so no statistics autovacuum records make a key lookup
a sequential scan. A manual VACUUM/ANALYZE of the empty tables before a launch undoes this (see
bench/README.md); don't. PostgreSQL only."""
from django.db import migrations

TABLES = ("vouchers_citizen", "vouchers_monthlyusage", "vouchers_purchase", "vouchers_wallet",
          "vouchers_walletentry", "vouchers_papernote", "vouchers_reservation")
OPTIONS = ("autovacuum_analyze_threshold", "autovacuum_vacuum_threshold", "autovacuum_vacuum_insert_threshold")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET ({', '.join(f'{o} = 1000' for o in OPTIONS)})")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(OPTIONS)})")


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0005_voucher_event")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
