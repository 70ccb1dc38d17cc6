"""vouchers_tranche is a handful of rows updated hundreds of times a second during a sale (`sold`).
Each sale writes a new version of its tranche row; PostgreSQL keeps it on the same page (a HOT
update: no index writes) only while the page has room, and reclaims dead versions only when it
prunes the page. A low fillfactor keeps few tranche rows per page (room for their versions) and
makes PostgreSQL prune the page at almost every visit. See bench/README.md for the measurement.
PostgreSQL only."""
from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE vouchers_tranche SET (fillfactor = 10)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE vouchers_tranche RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0002_ledger_and_note_triggers")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
