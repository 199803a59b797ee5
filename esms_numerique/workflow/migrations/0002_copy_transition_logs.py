"""The dossiers' and the SONS orders' transition logs become one; reference counters start past the numbers given."""

import re

from django.db import migrations


def copy_logs(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    TransitionLog = apps.get_model("workflow", "TransitionLog")
    ReferenceCounter = apps.get_model("workflow", "ReferenceCounter")
    sources = [
        (apps.get_model("dossiers", "TransitionLog"), "dossiers", "dossier", "dossier_id"),
        (apps.get_model("sons", "OrderTransitionLog"), "sons", "order", "order_id"),
    ]
    for model, app_label, model_name, subject in sources:
        subject_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model_name)
        TransitionLog.objects.bulk_create(
            [
                TransitionLog(
                    subject_type_id=subject_type.pk,
                    subject_id=getattr(row, subject),
                    at=row.at,
                    actor_id=row.actor_id,
                    transition=row.transition,
                    from_state=row.from_state,
                    to_state=row.to_state,
                    comment=row.comment,
                )
                for row in model.objects.order_by("at", "id")
            ]
        )
    highest = {}
    references = [
        *apps.get_model("dossiers", "Dossier").objects.values_list("reference", flat=True),
        *apps.get_model("sons", "Order").objects.values_list("reference", flat=True),
    ]
    for reference in references:
        match = re.fullmatch(r"(.+)-(\d+)", reference)
        if match:
            highest[match[1]] = max(highest.get(match[1], 0), int(match[2]))
    for key, value in highest.items():
        ReferenceCounter.objects.update_or_create(key=key, defaults={"value": value})


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0001_initial'),
        ('dossiers', '0003_profile_moves_to_accounts'),
        ('sons', '0001_initial'),
    ]

    operations = [migrations.RunPython(copy_logs, migrations.RunPython.noop)]
