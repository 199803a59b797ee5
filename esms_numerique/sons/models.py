"""Éditeurs, their solutions and the SONS orders (bons de commande) of the Prestation Ségur."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models

from esms_numerique import clock
from esms_numerique.registry.models import Establishment, LegalEntity

from .workflow import OrderState


class Editor(models.Model):
    name = models.CharField("éditeur", max_length=255)
    siret = models.CharField("SIRET", max_length=14, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "éditeur"

    def __str__(self) -> str:
        return self.name


class Solution(models.Model):
    class Referencing(models.TextChoices):
        CANDIDATE = "candidat", "Candidat au référencement"
        PROOF_SENT = "preuves_deposees", "Dossier complet de preuves déposé à l'ANS"
        REFERENCED = "reference", "Référencée"
        REFUSED = "refusee", "Refusée"

    editor = models.ForeignKey(Editor, on_delete=models.PROTECT, related_name="solutions")
    name = models.CharField("solution", max_length=255)
    version = models.CharField("version", max_length=64)
    couloir = models.CharField("DSR / couloir", max_length=3, choices=[("MS1", "MS1"), ("MS2", "MS2"), ("MS3", "MS3")])
    referencing = models.CharField(
        "référencement Ségur", max_length=32, choices=Referencing.choices, default=Referencing.CANDIDATE
    )
    proof_sent_on = models.DateField("preuves déposées à l'ANS le", null=True, blank=True)
    referenced_on = models.DateField("référencée le", null=True, blank=True)
    sad_referenced = models.BooleanField("référencée au SAD", default=False)

    class Meta:
        ordering = ["editor__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.couloir})"


class Order(models.Model):
    reference = models.CharField("référence", max_length=32, unique=True)
    og = models.ForeignKey(
        LegalEntity, verbose_name="organisme gestionnaire", on_delete=models.PROTECT, related_name="sons_orders"
    )
    other_ogs = models.ManyToManyField(
        LegalEntity, verbose_name="autres OG clients (cas B)", blank=True, related_name="sons_orders_as_client"
    )
    solution = models.ForeignKey(Solution, on_delete=models.PROTECT, related_name="orders")
    sector = models.CharField("secteur", max_length=3, blank=True)
    ordered_on = models.DateField("commande signée le", default=clock.today)
    state = models.CharField("état", max_length=32, choices=OrderState.choices, default=OrderState.SIGNEE)
    og_essms_count = models.PositiveIntegerField("ESSMS de l'OG dans la base FINESS de référence")
    result = models.JSONField("résultat des règles", default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    advance_paid_eur = models.PositiveIntegerField("avance versée", null=True, blank=True)
    va_signed_on = models.DateField("VA signée le", null=True, blank=True)
    advance_paid_on = models.DateField("avance versée le", null=True, blank=True)
    advance_payment_reference = models.CharField("référence du paiement de l'avance", max_length=64, blank=True)
    balance_paid_eur = models.PositiveIntegerField("solde versé", null=True, blank=True)
    balance_paid_on = models.DateField("solde versé le", null=True, blank=True)
    balance_payment_reference = models.CharField("référence du paiement du solde", max_length=64, blank=True)
    recovery_eur = models.PositiveIntegerField(
        "montant à recouvrer",
        null=True,
        blank=True,
        help_text="Avance versée d'une commande annulée : l'ASP la recouvre auprès de l'éditeur.",
    )
    transitions = GenericRelation(
        "workflow.TransitionLog", content_type_field="subject_type", object_id_field="subject_id"
    )

    class Meta:
        ordering = ["-ordered_on", "reference"]
        verbose_name = "commande SONS"
        verbose_name_plural = "commandes SONS"

    def __str__(self) -> str:
        return f"{self.reference} {self.og}"

    @property
    def couloir(self) -> str:
        return self.solution.couloir


class OrderItem(models.Model):
    """One ESSMS of an order, with its software versions and the four VA columns of SONS23."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="sons_items")
    current_version = models.CharField("version installée", max_length=64)
    target_version = models.CharField("version cible", max_length=64)
    va_no_acquisition_funding = models.BooleanField(
        "n'a ni ne souhaite de financement d'acquisition ESMS numérique", null=True
    )
    va_prestation_done = models.BooleanField("prestation réalisée comme commandée", null=True)
    va_tbb1 = models.BooleanField("tableau de bord TBB.1 fourni, indicateurs non nuls", null=True)
    va_dui_indicators = models.BooleanField("trois indicateurs DUI fournis automatiquement", null=True)

    class Meta:
        ordering = ["establishment__finess_et"]
        constraints = [models.UniqueConstraint(fields=["order", "establishment"], name="one_item_per_essms")]

    def __str__(self) -> str:
        return f"{self.order.reference} {self.establishment.finess_et}"

    VA_FIELDS = ("va_no_acquisition_funding", "va_prestation_done", "va_tbb1", "va_dui_indicators")

    @property
    def va_complete(self) -> bool:
        return all(getattr(self, f) is True for f in self.VA_FIELDS)
