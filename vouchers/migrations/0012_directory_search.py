"""The directory's search plans (bench/README.md, "The directory"): pg_trgm's comparison functions
costed as what they are, and approved merchants in name order."""
from django.db import migrations, models

from jinju_portal.migration_sql import postgres_only

# pg_trgm declares its functions at the default cost of 1 (as cheap as an integer `=`), but one
# comparison builds the trigrams of both strings: ~0.8 µs for a shop name, measured against ~0.006 µs
# for one cpu_operator_cost on the same machine, so 100 is still on the cheap side. At cost 1 the
# planner preferred evaluating `%` and `%>` on every approved merchant (16 ms) to the trigram index
# (2 ms) whenever the two plans' estimates came near. The functions belong to the extension; if
# another role created it, the migration leaves them as they are and says so.
TRIGRAM_FUNCTIONS = ("similarity_op", "word_similarity_op", "word_similarity_commutator_op", "similarity",
                     "word_similarity")


def _costs(cost: int) -> str:
    alters = "\n".join(f"    ALTER FUNCTION {name}(text, text) COST {cost};" for name in TRIGRAM_FUNCTIONS)
    return f"""
DO $$
BEGIN
{alters}
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'pg_trgm functions are owned by another role: their planner cost stays as it is, '
                  'and short directory searches may read every merchant (bench/README.md)';
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('vouchers', '0011_payment_user_idempotency_key'),
    ]

    operations = [
        postgres_only(_costs(100), _costs(1)),
        migrations.AddIndex(
            model_name='merchant',
            index=models.Index(condition=models.Q(('status', 'approved')), fields=['name', 'id'],
                               name='merchant_directory_name'),
        ),
    ]
