"""The ledger of funded ESSMS: one row per (dossier or SONS order, FINESS ET), written by the services at each
step, so that « one FINESS ET, one funding » is a property of the database, not a scan of JSON fields."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from esms_numerique import clock


class Scheme(models.TextChoices):
    ESMS_NUMERIQUE = "esms_numerique", "ESMS numérique"
    SONS = "sons", "SONS (Prestation Ségur)"


class LedgerState(models.TextChoices):
    PLANNED = "projet", "Dans un brouillon"
    FILED = "depose", "Déposé, en instruction"
    RETAINED = "retenu", "Retenu"
    ENGAGED = "engage", "Engagé"
    PAID = "paye", "Versé (en tout ou partie)"
    RELEASED = "libere", "Libéré (non retenu, annulé, retiré)"


HOLDING = (LedgerState.RETAINED, LedgerState.ENGAGED, LedgerState.PAID)


class FundedEssms(models.Model):
    finess_et = models.CharField("FINESS ET", max_length=9, db_index=True)
    scheme = models.CharField("dispositif", max_length=16, choices=Scheme.choices)
    # What « one funding » counts per: ESMS numérique (any operation, 2021-2025), or a SONS couloir (S-ONCE).
    funding_key = models.CharField("type de financement", max_length=32)
    dossier = models.ForeignKey(
        "dossiers.Dossier", null=True, blank=True, on_delete=models.CASCADE, related_name="ledger_rows"
    )
    order = models.ForeignKey("sons.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="ledger_rows")
    og = models.ForeignKey(
        "registry.LegalEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=True
    )
    operation = models.CharField("opération", max_length=16)
    fundable = models.BooleanField("finançable", default=True)
    rank = models.PositiveIntegerField("rang (F-COUNT)", null=True, blank=True)
    amount_eur = models.PositiveIntegerField("montant de la ligne", null=True, blank=True)
    state = models.CharField("état", max_length=16, choices=LedgerState.choices)
    holds = models.BooleanField("tient le financement", default=False)
    sons_va_signed_on = models.DateField("VA signée le", null=True, blank=True)
    updated_at = models.DateTimeField("mis à jour le", default=clock.now)

    class Meta:
        ordering = ["finess_et", "id"]
        verbose_name = "ESSMS financé"
        verbose_name_plural = "registre des ESSMS financés"
        constraints = [
            # E-NO-DOUBLE, S-ONCE: two instructors clicking at once cannot both win.
            models.UniqueConstraint(
                fields=["finess_et", "funding_key"], condition=Q(holds=True), name="one_held_funding_per_essms"
            ),
            models.UniqueConstraint(fields=["dossier", "finess_et"], name="one_ledger_row_per_dossier_essms"),
            models.UniqueConstraint(fields=["order", "finess_et"], name="one_ledger_row_per_order_essms"),
            models.CheckConstraint(
                condition=Q(dossier__isnull=False, order__isnull=True) | Q(dossier__isnull=True, order__isnull=False),
                name="ledger_row_has_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.finess_et} {self.subject_label}"

    @property
    def subject_label(self) -> str:
        if self.dossier_id:
            return f"dossier {self.dossier.reference}"
        return f"commande SONS {self.order.reference}"

    @property
    def subject_reference(self) -> str:
        return self.dossier.reference if self.dossier_id else self.order.reference


class Recovery(models.Model):
    """An « ordre de reversement »: money paid for something that did not happen, owed back and followed until it
    is received (docs/decisions.md, D-RECOVERY)."""

    class State(models.TextChoices):
        ISSUED = "emis", "Émis, à recouvrer"
        RECEIVED = "recouvre", "Recouvré"

    dossier = models.ForeignKey(
        "dossiers.Dossier", null=True, blank=True, on_delete=models.PROTECT, related_name="recoveries"
    )
    order = models.ForeignKey("sons.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="recoveries")
    amount_eur = models.PositiveIntegerField("montant à reverser")
    reason = models.TextField("motif")
    rule = models.CharField("règle", max_length=32, default="F-PAY")
    state = models.CharField("état", max_length=16, choices=State.choices, default=State.ISSUED)
    issued_at = models.DateTimeField("émis le", default=clock.now)
    issued_by = models.CharField("émis par", max_length=150)
    received_on = models.DateField("recouvré le", null=True, blank=True)
    received_reference = models.CharField("référence de l'encaissement", max_length=64, blank=True)

    class Meta:
        ordering = ["issued_at", "id"]
        verbose_name = "ordre de reversement"
        verbose_name_plural = "ordres de reversement"

    def __str__(self) -> str:
        return f"{self.amount_eur} € ({self.get_state_display()})"
