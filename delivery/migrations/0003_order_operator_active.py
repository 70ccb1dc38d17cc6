"""An order is taken only from an active operator for an approved store, decided in the INSERT
itself (PostgreSQL).

report_order checks both statuses from per-process caches (selectors.order_operator / order_store, up
to DELIVERY_LOOKUP_CACHE_SECONDS old in the other processes). A suspension or wind-down made in another
process would let that process take orders for those seconds; the trigger reads the committed statuses
with the INSERT (a PL/pgSQL query takes a fresh snapshot), so from the moment a wind-down or a store's
suspension commits no process records a new order for it. The service maps the refusals (constraint
names `order_operator_active`, `order_store_active`) to 409 operator_not_active / store_not_active.
Cost: two primary-key lookups per order.
"""
from django.db import migrations

from jinju_portal.migration_sql import postgres_only

FORWARD = """
CREATE FUNCTION delivery_order_operator_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM delivery_operator WHERE id = NEW.operator_id AND status = 'active') THEN
        RAISE EXCEPTION 'operator % is not active: it takes no new orders', NEW.operator_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_operator_active';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM delivery_store WHERE id = NEW.store_id AND status = 'approved') THEN
        RAISE EXCEPTION 'store % is not approved: it takes no new orders', NEW.store_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_store_active';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER delivery_order_operator_active BEFORE INSERT ON delivery_order
    FOR EACH ROW EXECUTE FUNCTION delivery_order_operator_active();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS delivery_order_operator_active ON delivery_order;
DROP FUNCTION IF EXISTS delivery_order_operator_active();
"""


class Migration(migrations.Migration):
    dependencies = [("delivery", "0002_statements")]
    operations = [postgres_only(FORWARD, BACKWARD)]
