"""Stamps the dossiers and orders that already exist with their last audited change (DECISION D-API-SYNC)."""

from django.db import migrations
from django.db.models import Max

KINDS = {"Dossier": "dossier", "Order": "commande"}


def stamp(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    Change = apps.get_model("partners", "Change")
    rows = (
        AuditEntry.objects.filter(object_type__in=list(KINDS))
        .values("object_type", "object_id")
        .annotate(last=Max("created_at"))
    )
    Change.objects.bulk_create(
        [Change(kind=KINDS[r["object_type"]], reference=r["object_id"], changed_at=r["last"]) for r in rows],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial"), ("audit", "0003_seal_legacy_entries")]

    operations = [migrations.RunPython(stamp, migrations.RunPython.noop)]
