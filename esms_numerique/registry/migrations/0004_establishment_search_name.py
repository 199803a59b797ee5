# The establishments' two names searched through one column the database keeps in capitals (DECISION
# D-REGISTRY-SEARCH-COUNT): one LIKE a row instead of UPPER() of two columns, one trigram index on PostgreSQL in place
# of the two on the names (0002), which no query reads any more. SQLite, the local default, keeps its scan.

import django.db.models.functions.text
from django.db import migrations, models

OLD_INDEXES = [
    ("registry_establishment_name_trgm", "name"),
    ("registry_establishment_long_name_trgm", "long_name"),
]
INDEX = "registry_establishment_search_name_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in OLD_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON registry_establishment USING gin (search_name gin_trgm_ops)"
    )
    # The new column's statistics now, not at autovacuum's next pass: without them the planner takes a common word
    # for a rare one and sorts thousands of rows for a page of 50.
    schema_editor.execute("ANALYZE registry_establishment")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    for name, column in OLD_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON registry_establishment USING gin ((UPPER("{column}"::text)) '
            "gin_trgm_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_import_line_digests"),
    ]

    operations = [
        migrations.AddField(
            model_name="establishment",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Upper(
                    django.db.models.functions.text.Concat("name", models.Value("\n"), "long_name")
                ),
                output_field=models.TextField(),
                verbose_name="noms recherchés",
            ),
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
