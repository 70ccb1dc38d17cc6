"""The payments' growing tables get the sale tables' autovacuum thresholds (0006 tells why): no
planner statistics while they are tiny, so the cached plans of the payment statement and of its
foreign-key checks never turn into sequential scans of tables growing by hundreds of rows a second
on the first day vouchers are spent. PostgreSQL only."""
from django.db import migrations

from jinju_portal.migration_sql import launch_thresholds, postgres_only


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0013_merchant_name_trgm_fastupdate")]
    operations = [postgres_only(*launch_thresholds("vouchers_paycode", "vouchers_payment",
                                                   "vouchers_merchantrefund"))]
