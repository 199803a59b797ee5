from django.db import migrations, models


class Migration(migrations.Migration):
    """The entries written before the key keep their plain SHA-256 digest: version 1 (docs/decisions.md,
    D-AUDIT-KEY); every entry written from now on is keyed, version 2."""

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="version",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="version de l'empreinte"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="version",
            field=models.PositiveSmallIntegerField(
                default=2,
                help_text="1 : SHA-256, entrées écrites avant la clé ; 2 : HMAC-SHA256 avec la clé AUDIT_HMAC_KEY.",
                verbose_name="version de l'empreinte",
            ),
        ),
    ]
