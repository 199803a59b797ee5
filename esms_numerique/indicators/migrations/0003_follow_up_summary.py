"""The follow-up's summary (DECISION D-FOLLOW-UP-SUMMARY), filled for the dossiers measured before it, by the
definitions of indicators.summary.refresh written against the historical models."""

from collections import defaultdict

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Exists, F, Max, OuterRef, Window


def backfill(apps, schema_editor):
    Dossier = apps.get_model("dossiers", "Dossier")
    FundedEssms = apps.get_model("ledger", "FundedEssms")
    UsageMeasurement = apps.get_model("indicators", "UsageMeasurement")
    DossierFollowUp = apps.get_model("indicators", "DossierFollowUp")
    ActiveDui = apps.get_model("indicators", "ActiveDui")
    ids = set(UsageMeasurement.objects.order_by().values_list("dossier_id", flat=True).distinct())
    if not ids:
        return
    # The last measurement of each ESSMS, summed by the ESSMS's region in the frozen result.
    later = UsageMeasurement.objects.filter(
        dossier_id=OuterRef("dossier_id"),
        finess_et=OuterRef("finess_et"),
        measurement_date__gt=OuterRef("measurement_date"),
    )
    latest = list(
        UsageMeasurement.objects.filter(~Exists(later)).values_list("dossier_id", "finess_et", "active_dossiers")
    )
    regions_of = {}
    for pk, essms in Dossier.objects.filter(pk__in=ids).values_list("pk", "filed_result__essms"):
        for entry in essms or []:
            regions_of[(pk, entry["finess_et"])] = entry.get("region", "")
    active = defaultdict(int)
    for pk, finess, count in latest:
        active[(pk, regions_of.get((pk, finess), ""))] += count
    ActiveDui.objects.bulk_create(
        [ActiveDui(dossier_id=pk, region=region, active_dossiers=n) for (pk, region), n in sorted(active.items())],
        batch_size=2000,
    )
    # At each dossier's last date: every funded ESSMS (the ledger's fundable, held rows) measured, every target met.
    funded = defaultdict(set)
    for pk, finess in FundedEssms.objects.filter(dossier_id__in=ids, fundable=True, holds=True).values_list(
        "dossier_id", "finess_et"
    ):
        funded[pk].add(finess)
    last = (
        UsageMeasurement.objects.annotate(last_date=Window(Max("measurement_date"), partition_by=[F("dossier_id")]))
        .filter(measurement_date=F("last_date"))
        .values_list("dossier_id", "finess_et", "measurement_date", "targets_met")
    )
    dates, measured, met = {}, defaultdict(set), defaultdict(lambda: True)
    for pk, finess, on, targets in last:
        dates[pk] = on
        measured[pk].add(finess)
        met[pk] = met[pk] and all(targets.values())
    DossierFollowUp.objects.bulk_create(
        [
            DossierFollowUp(dossier_id=pk, measured_on=on, targets_met=met[pk] and funded[pk] <= measured[pk])
            for pk, on in sorted(dates.items())
        ],
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0008_list_columns_reads"),
        ("indicators", "0002_optional_usage_counts"),
        ("ledger", "0002_recovery"),
    ]

    operations = [
        migrations.CreateModel(
            name="DossierFollowUp",
            fields=[
                (
                    "dossier",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="follow_up",
                        serialize=False,
                        to="dossiers.dossier",
                    ),
                ),
                ("measured_on", models.DateField(verbose_name="dernière date de mesure")),
                ("targets_met", models.BooleanField(verbose_name="cibles atteintes à cette date")),
            ],
            options={
                "verbose_name": "suivi d'un dossier mesuré",
            },
        ),
        migrations.CreateModel(
            name="ActiveDui",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("region", models.CharField(blank=True, max_length=2, verbose_name="région (code INSEE)")),
                ("active_dossiers", models.PositiveIntegerField(verbose_name="dossiers actifs")),
                (
                    "dossier",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="active_dui", to="dossiers.dossier"
                    ),
                ),
            ],
            options={
                "verbose_name": "DUI actifs d'un dossier par région",
                "constraints": [
                    models.UniqueConstraint(fields=("dossier", "region"), name="one_active_dui_per_dossier_region")
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
