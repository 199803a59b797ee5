"""Who instructs a filed dossier and who is asked about it: the groupes instructeurs of each ARS, the assignment of a
dossier to an instructor (with its history), the regions a multiregional dossier covers (read by their ARS), the
hand-over of a multiregional dossier's instruction to the national desk (AAP24 §7 nota) and the experts' opinions.
State changes go through instruction/services.py only."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from esms_numerique import clock

from .enums import ExpertKind


class InstructorGroup(models.Model):
    """A groupe instructeur of one ARS (administrators manage them). A new dossier of the region goes to the group
    whose departments, else whose sectors, match most of its ESSMS; else to the group with neither (the default)."""

    region = models.CharField("région (code INSEE)", max_length=2, db_index=True)
    label = models.CharField("intitulé", max_length=120)
    departments = models.CharField(
        "départements", max_length=200, blank=True, help_text="Codes séparés par des virgules (ex. « 35, 56 »)."
    )
    sectors = models.CharField(
        "secteurs", max_length=100, blank=True, help_text="Secteurs séparés par des virgules (ex. « PA, PH »)."
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="instructeurs", blank=True, related_name="instructor_groups"
    )

    class Meta:
        ordering = ["region", "label"]
        verbose_name = "groupe instructeur"
        verbose_name_plural = "groupes instructeurs"
        constraints = [models.UniqueConstraint(fields=["region", "label"], name="one_group_label_per_region")]

    def __str__(self) -> str:
        return f"{self.label} ({self.region})"

    @staticmethod
    def _codes(text: str) -> set[str]:
        return {part.strip().upper() for part in text.split(",") if part.strip()}

    @property
    def department_codes(self) -> set[str]:
        return self._codes(self.departments)

    @property
    def sector_codes(self) -> set[str]:
        return self._codes(self.sectors)


class Assignment(models.Model):
    """One step of a dossier's assignment history: routed to a group, or given to an instructor (by themself or a
    colleague of the same ARS). The last row is the current assignment; none is ever edited."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="assignments")
    group = models.ForeignKey(
        InstructorGroup, verbose_name="groupe instructeur", null=True, blank=True, on_delete=models.SET_NULL
    )
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="instructeur",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="attribué par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Vide : routage automatique au dépôt.",
    )
    at = models.DateTimeField("date", default=clock.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "attribution"
        verbose_name_plural = "attributions"

    def __str__(self) -> str:
        return f"{self.dossier_id} → {self.instructor or self.group}"


class DossierRegion(models.Model):
    """A region where a filed dossier has ESSMS (from its frozen result): the ARS of each reads the dossier."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="regions")
    region = models.CharField("région (code INSEE)", max_length=2)
    essms_count = models.PositiveIntegerField("ESSMS")

    class Meta:
        verbose_name = "région d'un dossier"
        verbose_name_plural = "régions des dossiers"
        constraints = [models.UniqueConstraint(fields=["dossier", "region"], name="one_row_per_dossier_region")]
        indexes = [models.Index(fields=["region"], name="dossier_region_region")]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.region} ({self.essms_count})"


class HandOver(models.Model):
    """The pivot ARS hands a multiregional dossier's instruction over to CNSA/DNS (AAP24 §7 nota): the desk of
    filing does not change for the porteur; the national instructors act, the ARS keep reading."""

    dossier = models.OneToOneField("dossiers.Dossier", on_delete=models.CASCADE, related_name="hand_over")
    at = models.DateTimeField("date", default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="par", on_delete=models.PROTECT, related_name="+")
    from_region = models.CharField("ARS pivot", max_length=2)
    reason = models.TextField("motif")

    class Meta:
        verbose_name = "instruction confiée au national"
        verbose_name_plural = "instructions confiées au national"

    def __str__(self) -> str:
        return f"{self.dossier_id} → national"


class Expert(models.Model):
    """A person instructors may ask for an opinion (GRADeS, collectif SI, conseil départemental). An expert reads
    only the dossiers they are asked about (DECISION D-EXPERT)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert")
    kind = models.CharField("nature", max_length=32, choices=ExpertKind.choices)
    organisation = models.CharField("organisation", max_length=200)
    region = models.CharField(
        "région (code INSEE)", max_length=2, blank=True, help_text="Vide : proposé aux instructeurs de toute région."
    )

    class Meta:
        ordering = ["organisation", "user__username"]
        verbose_name = "expert (avis)"
        verbose_name_plural = "experts (avis)"

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.get_username()
        return f"{name} — {self.organisation} ({self.get_kind_display()})"


class ExpertOpinion(models.Model):
    """« Demander un avis »: an instructor asks a named expert a question; the expert answers once, in the thread."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="expert_opinions")
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="expert", on_delete=models.PROTECT, related_name="opinions_asked"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="demandé par", on_delete=models.PROTECT, related_name="+"
    )
    question = models.TextField("question")
    asked_at = models.DateTimeField("demandé le", default=clock.now)
    answer = models.TextField("avis", blank=True)
    answered_at = models.DateTimeField("rendu le", null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        verbose_name = "avis d'expert"
        verbose_name_plural = "avis d'experts"
        indexes = [models.Index(fields=["expert", "dossier"], name="opinion_expert_dossier")]

    def __str__(self) -> str:
        return f"{self.dossier_id} — {self.expert}"

    @property
    def answered(self) -> bool:
        return self.answered_at is not None
