# Searching the registry by name at national scale (36 500 ESSMS, 10 000 OGs): a case-insensitive « contains »
# (Django's icontains, UPPER(col::text) LIKE UPPER('%…%') on PostgreSQL) answered by trigram indexes instead of a
# scan of every row. PostgreSQL only; SQLite, the local default, keeps its scan.

from django.db import migrations

INDEXES = [
    ("registry_establishment_name_trgm", "registry_establishment", "name"),
    ("registry_establishment_long_name_trgm", "registry_establishment", "long_name"),
    ("registry_legalentity_name_trgm", "registry_legalentity", "name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
