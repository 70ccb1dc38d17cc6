"""Database-level guards the ORM cannot express: an append-only wallet ledger and forward-only
paper-note statuses (DESIGN.md invariants 3 and 4). PostgreSQL only; other engines (the SQLite file
of `make run`) rely on the model guards."""
from django.db import migrations

from jinju_portal.migration_sql import append_only, postgres_only

LEDGER_FORWARD, LEDGER_BACKWARD = append_only("vouchers_walletentry")

FORWARD = LEDGER_FORWARD + """
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
""" + LEDGER_BACKWARD


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0001_initial")]
    operations = [postgres_only(FORWARD, BACKWARD)]
