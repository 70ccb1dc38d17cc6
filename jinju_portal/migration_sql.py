"""Raw SQL in migrations that only PostgreSQL runs (triggers the ORM cannot express); other engines
(the SQLite file of `make run`) rely on the model guards."""
from django.db import migrations


def postgres_only(forward: str, backward: str) -> migrations.RunPython:
    """A migration operation running `forward` (and `backward` when unapplied) on PostgreSQL only."""

    def run(sql):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql, params=None)
        return apply

    return migrations.RunPython(run(forward), run(backward))


LAUNCH_THRESHOLD_OPTIONS = ("autovacuum_analyze_threshold", "autovacuum_vacuum_threshold",
                            "autovacuum_vacuum_insert_threshold")


def launch_thresholds(*tables: str) -> tuple[str, str]:
    """(forward, backward) SQL giving `tables` autovacuum thresholds of 1,000 changed rows, so no
    statistics are taken while they are tiny (vouchers migration 0006 tells why)."""
    forward = "; ".join(f"ALTER TABLE {t} SET ({', '.join(f'{o} = 1000' for o in LAUNCH_THRESHOLD_OPTIONS)})"
                        for t in tables)
    backward = "; ".join(f"ALTER TABLE {t} RESET ({', '.join(LAUNCH_THRESHOLD_OPTIONS)})" for t in tables)
    return forward, backward


def append_only(table: str) -> tuple[str, str]:
    """(forward, backward) SQL of a trigger refusing every UPDATE and DELETE on `table`. No TRUNCATE
    trigger: test databases are flushed with TRUNCATE between transactional tests."""
    forward = f"""
CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {table}_no_update_delete
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
"""
    backward = f"""
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP FUNCTION IF EXISTS {table}_append_only();
"""
    return forward, backward


class PostgresOnlyAddIndex(migrations.AddIndex):
    """AddIndex for a PostgreSQL index type (a GIN trigram index): the model state has the index on
    every engine (so makemigrations stays clean); only PostgreSQL builds it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
