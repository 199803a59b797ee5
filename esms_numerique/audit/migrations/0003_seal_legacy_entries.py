from django.conf import settings
from django.db import migrations
from django.utils import timezone

from esms_numerique.audit import digests


def seal(apps, schema_editor):
    """Entries written before the key stay as they were (version 1) and are sealed by one keyed entry chained to the
    last of them: rewriting them afterwards, even recomputed, breaks the seal (docs/decisions.md, D-AUDIT-KEY)."""
    AuditEntry = apps.get_model("audit", "AuditEntry")
    last = AuditEntry.objects.order_by("-id").first()
    if last is None or last.version != digests.LEGACY:
        return
    count = AuditEntry.objects.count()
    entry = AuditEntry(
        created_at=timezone.now(),
        actor="esms (migration audit 0003)",
        action="seal_legacy_entries",
        object_type="AuditEntry",
        object_id=str(last.id),
        after={"entrées sans clé": count, "dernière": last.id, "empreinte": last.digest},
        reason="Introduction de la clé du journal d'audit (AUDIT_HMAC_KEY).",
        previous_digest=last.digest,
        version=digests.KEYED,
    )
    fields = {
        "previous": entry.previous_digest,
        "created_at": entry.created_at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": None,
        "after": entry.after,
        "reason": entry.reason,
    }
    entry.digest = digests.keyed_digest(settings.AUDIT_HMAC_KEY, fields)
    entry.save()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_auditentry_version"),
    ]

    operations = [
        migrations.RunPython(seal, migrations.RunPython.noop),
    ]
