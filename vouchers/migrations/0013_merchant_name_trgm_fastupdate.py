"""The merchants' trigram index without GIN's pending list (bench/README.md, "The directory").

With `fastupdate` on (GIN's default) new index entries wait in a pending list that every search
reads from start to end until VACUUM (or autovacuum, off on the benchmark VM) merges it. After a
bulk load of the demo merchants the list held 391 pages: each bitmap scan of the index took
2.8–4.5 ms instead of 0.2–0.3, the planner rightly costed it at 1,600 instead of 28–66, and
chose reading every merchant (a parallel seq scan, 20 ms). Merchants are written rarely (writing
an import of 7,000 went from 1.4 to 1.5–1.9 s: bench/merchant_import.py) and searched all day, so
the index takes each entry at once. Turning the option off leaves what is already pending, so the
list is merged here too."""
import django.contrib.postgres.indexes
from django.db import migrations

from jinju_portal.migration_sql import postgres_only


class Migration(migrations.Migration):

    dependencies = [
        ('vouchers', '0012_directory_search'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name='merchant', name='merchant_name_trgm'),
                migrations.AddIndex(
                    model_name='merchant',
                    index=django.contrib.postgres.indexes.GinIndex(fastupdate=False, fields=['name'],
                                                                   name='merchant_name_trgm',
                                                                   opclasses=['gin_trgm_ops']),
                ),
            ],
            database_operations=[
                postgres_only("ALTER INDEX merchant_name_trgm SET (fastupdate = off);"
                              " SELECT gin_clean_pending_list('merchant_name_trgm'::regclass);",
                              "ALTER INDEX merchant_name_trgm RESET (fastupdate);"),
            ],
        ),
    ]
