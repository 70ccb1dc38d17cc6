"""Database-level guards the ORM cannot express: an append-only wallet ledger and forward-only
paper-note statuses (DESIGN.md invariants 3 and 4). PostgreSQL only; other engines (the SQLite file
of `make run`) rely on the model guards."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION vouchers_walletentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'vouchers_walletentry is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER vouchers_walletentry_no_update_delete
    BEFORE UPDATE OR DELETE ON vouchers_walletentry
    FOR EACH ROW EXECUTE FUNCTION vouchers_walletentry_append_only();

-- No TRUNCATE trigger: test databases are flushed with TRUNCATE between transactional tests.

CREATE OR REPLACE FUNCTION vouchers_papernote_forward_only() RETURNS trigger AS $$
BEGIN
    IF NEW.status <> OLD.status AND OLD.status <> 'issued' THEN
        RAISE EXCEPTION 'paper note % is % and cannot become %', OLD.serial, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.serial <> OLD.serial OR NEW.denomination <> OLD.denomination THEN
        RAISE EXCEPTION 'paper note serial and denomination never change' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER vouchers_papernote_status_forward
    BEFORE UPDATE ON vouchers_papernote
    FOR EACH ROW EXECUTE FUNCTION vouchers_papernote_forward_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS vouchers_papernote_status_forward ON vouchers_papernote;
DROP FUNCTION IF EXISTS vouchers_papernote_forward_only();
DROP TRIGGER IF EXISTS vouchers_walletentry_no_update_delete ON vouchers_walletentry;
DROP FUNCTION IF EXISTS vouchers_walletentry_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
