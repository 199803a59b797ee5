"""Selection under envelopes (AAP24 §6): the campaign envelopes CNSA sets, the prioritisation grid an instructor
fills per dossier, and the proposals the optimiser made for a committee — a proposal never decides."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from esms_numerique import clock


class Envelope(models.Model):
    """One dated value of a campaign's envelope for a region ("" for the national desk), with its reference, like
    a parameter. Never edited: a change is a new row, the one in force on a date is the latest dated by then."""

    campaign = models.CharField("campagne", max_length=8)
    region = models.CharField("région (vide : guichet national)", max_length=2, blank=True)
    amount_eur = models.PositiveIntegerField("montant de l'enveloppe (€)")
    effective_on = models.DateField("en vigueur à partir du")
    reference = models.CharField("référence (texte et section)", max_length=255)
    reason = models.TextField("motif")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField("fixée le", default=clock.now)

    class Meta:
        ordering = ["campaign", "region", "-effective_on", "-set_at", "-id"]
        verbose_name = "enveloppe de campagne"
        verbose_name_plural = "enveloppes de campagne"
        indexes = [models.Index(fields=["campaign", "region", "effective_on"], name="envelope_in_force")]

    def __str__(self) -> str:
        where = f"région {self.region}" if self.region else "guichet national"
        return f"{self.campaign} {where} : {self.amount_eur} € au {self.effective_on:%d/%m/%Y}"


class GridAssessment(models.Model):
    """The prioritisation grid of a dossier (P-GRID): a note per AAP24 §6 criterion, the instructor's comment, the
    weighted points, and what the platform prefilled and from which facts."""

    dossier = models.OneToOneField("dossiers.Dossier", on_delete=models.CASCADE, related_name="priority_grid")
    notes = models.JSONField("notes par critère", default=dict)
    comments = models.JSONField("commentaires par critère", default=dict)
    points = models.PositiveIntegerField("points pondérés")
    max_points = models.PositiveIntegerField("points maximum")
    parameters_on = models.DateField("paramètres de la grille lus au")
    prefill = models.JSONField("préremplissage (notes proposées et faits lus)", default=dict)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField("mise à jour le", default=clock.now)
    version = models.PositiveIntegerField("version", default=1)

    class Meta:
        verbose_name = "grille de priorisation"
        verbose_name_plural = "grilles de priorisation"

    def __str__(self) -> str:
        return f"{self.dossier.reference} : {self.points}/{self.max_points}"

    @property
    def out_of_100(self) -> float:
        return self.points * 100 / self.max_points if self.max_points else 0.0


class Proposal(models.Model):
    """What the optimiser proposed for a committee (P-PROPOSAL), with the settings the committee chose and each
    dossier's explanation. The committee still decides each item of its agenda."""

    committee = models.ForeignKey("dossiers.Committee", on_delete=models.CASCADE, related_name="proposals")
    envelope = models.ForeignKey(Envelope, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    options = models.JSONField("réglages choisis par le comité", default=dict)
    result = models.JSONField("résultat et explications", default=dict)
    status = models.CharField("statut", max_length=16)
    total_eur = models.PositiveIntegerField("montant proposé", default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("calculée le", default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "proposition de sélection"
        verbose_name_plural = "propositions de sélection"

    def __str__(self) -> str:
        return f"{self.committee} — {self.created_at:%d/%m/%Y %H:%M}"

    @property
    def selected(self) -> list[str]:
        return self.result.get("selected", [])


class Override(models.Model):
    """The committee departs from a proposal for one dossier, with its reason (P-OVERRIDE): it adds a dossier the
    optimiser left out, or takes out one it proposed. The proposal itself is never rewritten; what the committee
    then considers proposed is the proposal with its overrides (DECISION D-SELECTION-DECISIONS)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="overrides")
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT, related_name="+")
    include = models.BooleanField("ajouté à la proposition (sinon retiré)")
    reason = models.TextField("motif de l'écart")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("décidé le", default=clock.now)

    class Meta:
        ordering = ["proposal", "dossier__reference"]
        verbose_name = "écart à la proposition"
        verbose_name_plural = "écarts à la proposition"
        constraints = [models.UniqueConstraint(fields=["proposal", "dossier"], name="one_override_per_dossier")]

    def __str__(self) -> str:
        return f"{self.dossier} {'ajouté' if self.include else 'retiré'} : {self.reason}"


class DecisionLink(models.Model):
    """What a committee decision followed: the proposal in force when it was taken (none if no proposal was
    computed), whether that proposal — with its overrides — held the dossier, whether the decision agrees with it,
    and the override that explains a departure."""

    item = models.OneToOneField("dossiers.CommitteeItem", on_delete=models.CASCADE, related_name="selection_link")
    proposal = models.ForeignKey(Proposal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposed = models.BooleanField("proposé", null=True)
    followed = models.BooleanField("conforme à la proposition", null=True)
    override = models.ForeignKey(Override, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "décision et proposition"
        verbose_name_plural = "décisions et propositions"

    def __str__(self) -> str:
        return f"{self.item} — proposition {self.proposal_id or 'aucune'}"
