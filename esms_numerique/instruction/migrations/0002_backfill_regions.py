"""The regions covered by the dossiers filed before this app: read from their frozen result."""

from collections import Counter

from django.db import migrations


def backfill(apps, schema_editor):
    Dossier = apps.get_model("dossiers", "Dossier")
    DossierRegion = apps.get_model("instruction", "DossierRegion")
    rows = []
    for pk, result in Dossier.objects.exclude(filed_result=None).values_list("pk", "filed_result").iterator():
        counts = Counter(e.get("region") for e in (result or {}).get("essms", []) if e.get("region"))
        rows += [DossierRegion(dossier_id=pk, region=r, essms_count=n) for r, n in counts.items()]
    DossierRegion.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("instruction", "0001_initial")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
