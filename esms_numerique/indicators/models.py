"""Usage measurements the porteur brings from its OGs (aggregates only), per ESSMS of a dossier and per date."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from esms_numerique import clock

from . import publication
from .compute import RATE_FIELDS, RULES


class UsageMeasurement(models.Model):
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT, related_name="measurements")
    finess_et = models.CharField("FINESS ET", max_length=9)
    measurement_date = models.DateField("date de mesure")
    window_start = models.DateField("début de la fenêtre")
    window_end = models.DateField("fin de la fenêtre")
    people_accompanied = models.PositiveIntegerField("personnes accompagnées")
    active_dossiers = models.PositiveIntegerField("dossiers actifs")
    active_rate = models.FloatField("taux de dossiers actifs")
    pp_rate = models.FloatField("taux avec projet personnalisé")
    agenda_rate = models.FloatField("taux avec événement d'agenda")
    mss_rate = models.FloatField("taux MSSanté")
    dmp_rate = models.FloatField("taux DMP")
    # U-OPTIONAL, no target: present when the OG's export had the file.
    eprescription_imports = models.PositiveIntegerField("prescriptions électroniques importées", null=True, blank=True)
    eparcours_exchanges = models.PositiveIntegerField("échanges avec la plateforme e-parcours", null=True, blank=True)
    targets_met = models.JSONField("cibles atteintes (recalculées par la plateforme)")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["measurement_date", "finess_et"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "finess_et", "measurement_date"], name="one_measurement_per_essms_and_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.finess_et} {self.measurement_date:%d/%m/%Y}"

    @property
    def all_met(self) -> bool:
        return all(self.targets_met.values())

    @property
    def unmet_rules(self) -> list[str]:
        """In the order of the rules (PostgreSQL's jsonb does not keep the keys' order)."""
        return [rule for rule in RULES if not self.targets_met.get(rule, False)]

    def published(self, name: str, threshold: int | None = None) -> float | None:
        """The rate as it may be shown or exported: None over fewer people (or active dossiers) than the small-count
        threshold (D-SMALL-COUNTS). The recorded rate still decides the targets."""
        threshold = publication.small_count_threshold() if threshold is None else threshold
        return publication.published(
            name, getattr(self, name), self.people_accompanied, self.active_dossiers, threshold
        )

    @property
    def rates(self) -> list[dict]:
        """Each rate with its percentage (or « secret statistique »), whether its target is met, and a bar width (for
        the page's chart)."""
        threshold = publication.small_count_threshold()
        shown = {name: self.published(name, threshold) for name in RATE_FIELDS}
        return [
            {
                "percent": publication.SECRET
                if shown[name] is None
                else f"{shown[name] * 100:.0f} %".replace(".", ","),
                "met": self.targets_met.get(rule),
                "width": 0 if shown[name] is None else int(min(shown[name], 1) * 60),
            }
            for name, rule in zip(RATE_FIELDS, RULES, strict=True)
        ]


class DossierFollowUp(models.Model):
    """The follow-up's summary of a measured dossier (DECISION D-FOLLOW-UP-SUMMARY): its last measurement date and
    whether every funded ESSMS met every target at that date (`services.final_status`). Written by the services
    that change its inputs, in their transaction (`summary.refresh`), so that the follow-up page reads one row per
    dossier instead of every last measurement."""

    dossier = models.OneToOneField(
        "dossiers.Dossier", primary_key=True, on_delete=models.CASCADE, related_name="follow_up"
    )
    measured_on = models.DateField("dernière date de mesure")
    targets_met = models.BooleanField("cibles atteintes à cette date")

    class Meta:
        verbose_name = "suivi d'un dossier mesuré"

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.measured_on:%d/%m/%Y}"


class ActiveDui(models.Model):
    """Active dossiers (DUI) of the last measurement of each ESSMS of a dossier, summed by the ESSMS's region as the
    rules read it in the dossier's frozen result (DECISION D-FOLLOW-UP-SUMMARY): the follow-up's U-NATIONAL count."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="active_dui")
    region = models.CharField("région (code INSEE)", max_length=2, blank=True)
    active_dossiers = models.PositiveIntegerField("dossiers actifs")

    class Meta:
        verbose_name = "DUI actifs d'un dossier par région"
        constraints = [models.UniqueConstraint(fields=["dossier", "region"], name="one_active_dui_per_dossier_region")]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.region} {self.active_dossiers}"
