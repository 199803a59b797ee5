"""Dossiers ESMS numérique: the grappe a porteur files, its instruction, decision, convention and payments."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.files.storage import FileSystemStorage
from django.db import models

from esms_numerique import clock
from esms_numerique.registry.models import LegalEntity

from .enums import State


class Dossier(models.Model):
    reference = models.CharField("référence", max_length=32, unique=True)
    title = models.CharField("intitulé du projet", max_length=255)
    campaign = models.CharField("campagne", max_length=8)
    porteur = models.ForeignKey(
        LegalEntity, verbose_name="porteur", on_delete=models.PROTECT, related_name="dossiers_portes"
    )
    members = models.ManyToManyField(LegalEntity, verbose_name="OG membres", blank=True, related_name="dossiers")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("créé le", default=clock.now)
    state = models.CharField("état", max_length=32, choices=State.choices, default=State.BROUILLON, db_index=True)
    grappe = models.JSONField("grappe (entrée du simulateur)", default=dict)
    result = models.JSONField("résultat des règles (état courant)", default=dict)
    filed_at = models.DateTimeField("déposé le", null=True, blank=True)
    completed_at = models.DateTimeField(
        "complété le", null=True, blank=True, help_text="Dernier complément transmis ; la date de dépôt ne change pas."
    )
    filed_result = models.JSONField("résultat figé au dépôt", null=True, blank=True)
    desk = models.CharField("guichet", max_length=16, blank=True)
    pivot_region = models.CharField("ARS pivot", max_length=2, blank=True, db_index=True)
    engaged_eur = models.PositiveIntegerField("montant engagé", null=True, blank=True)
    engagement_reference = models.CharField(
        "référence de l'engagement (Chorus)", max_length=64, blank=True, help_text="Saisie à l'engagement."
    )
    deadline_extended_to = models.DateField("fin de déploiement prolongée au", null=True, blank=True)
    convention_signed_on = models.DateField("convention signée le", null=True, blank=True)
    advance_paid_eur = models.PositiveIntegerField("avance versée", null=True, blank=True)
    advance_paid_on = models.DateField("avance versée le", null=True, blank=True)
    deployment_started_on = models.DateField("déploiement commencé le", null=True, blank=True)
    targets_met_on = models.DateField("cibles d'usage atteintes le", null=True, blank=True)
    expenses_statement = models.BooleanField("état récapitulatif des dépenses visé reçu", default=False)
    balance_paid_eur = models.PositiveIntegerField("solde versé", null=True, blank=True)
    balance_paid_on = models.DateField("solde versé le", null=True, blank=True)
    version = models.PositiveIntegerField(
        "version",
        default=1,
        help_text="Augmente à chaque changement : deux modifications concurrentes ne s'écrasent pas.",
    )
    transitions = GenericRelation(
        "workflow.TransitionLog", content_type_field="subject_type", object_id_field="subject_id"
    )
    # What the dossier list shows and searches, kept by dossiers.listing.refresh_list_columns at each change of the
    # grappe, result, porteur or state: the list never decodes the grappe's JSON (issue 16; DECISION D-LIST-COLUMNS).
    essms_count = models.PositiveIntegerField("nombre d'ESSMS", null=True, blank=True)
    total_eur = models.PositiveIntegerField("total calculé (€)", null=True, blank=True)
    search_text = models.TextField("texte recherché", blank=True, editable=False)
    updated_at = models.DateTimeField("modifié le", default=clock.now, db_index=True)
    deadline_on = models.DateField("prochaine échéance", null=True, blank=True, db_index=True)
    deadline_label = models.CharField("nature de l'échéance", max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "dossier"
        verbose_name_plural = "dossiers"

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def state_label(self) -> str:
        return State(self.state).label

    @property
    def findings(self) -> list[dict]:
        return self.result.get("findings", [])

    @property
    def has_blocking_finding(self) -> bool:
        return any(f["verdict"] == "bloquant" for f in self.findings)


class Message(models.Model):
    """The thread between porteur and instructors; `private` annotations are for instructors only."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="messages")
    at = models.DateTimeField("date", default=clock.now)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField("message")
    private = models.BooleanField("annotation privée des instructeurs", default=False)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.author} {self.at:%d/%m/%Y}"


class DossierRead(models.Model):
    """When a user last opened a dossier's page: the list's unread-message badge counts the messages of others
    written since (DECISION D-LIST-UNREAD)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="reads")
    at = models.DateTimeField("lu le", default=clock.now)

    class Meta:
        verbose_name = "lecture de dossier"
        verbose_name_plural = "lectures de dossiers"
        constraints = [models.UniqueConstraint(fields=["user", "dossier"], name="one_read_per_user_and_dossier")]

    def __str__(self) -> str:
        return f"{self.user} {self.dossier_id} {self.at:%d/%m/%Y %H:%M}"


class AmountVersion(models.Model):
    """The amount engaged is frozen at decision; every later change is a new version, never an edit."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="amount_versions")
    number = models.PositiveIntegerField("version")
    amount_eur = models.PositiveIntegerField("montant")
    at = models.DateTimeField("date", default=clock.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("motif")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["dossier", "number"], name="one_amount_version_number")]

    def __str__(self) -> str:
        return f"v{self.number} {self.amount_eur} €"


def pieces_storage() -> FileSystemStorage:
    """Outside the web root: no URL serves these files; a view checks access and streams them."""
    return FileSystemStorage(location=settings.PIECES_ROOT, base_url=None)


class Piece(models.Model):
    """A document joined to a dossier (AAP24 Annexe 2, and after the decision the pieces of F-PAY), of an accepted
    type and size. A replaced piece stays, as a previous version of the one that `replaces` it; a removed one stays
    too, marked `removed_at`: no file is ever deleted (DECISION D-PIECE-VERSIONS)."""

    class CurrentManager(models.Manager):
        """The pieces that count — neither replaced nor removed: what E-PIECES, annex 2 and the checklist read
        through `dossier.pieces`. `Piece.versions` holds every file ever joined."""

        def get_queryset(self):
            return super().get_queryset().filter(removed_at__isnull=True, replaced_by__isnull=True)

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="pieces")
    code = models.CharField("type de pièce", max_length=64)
    file = models.FileField("fichier", storage=pieces_storage, upload_to="%Y/%m/")
    original_name = models.CharField("nom d'origine", max_length=255)
    size = models.PositiveIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("déposée le", default=clock.now)
    replaces = models.OneToOneField(
        "self",
        verbose_name="remplace la version",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    removed_at = models.DateTimeField("retirée le", null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="retirée par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    versions = models.Manager()
    objects = CurrentManager()

    class Meta:
        ordering = ["code", "-uploaded_at"]
        default_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.code} — {self.original_name}"


class Committee(models.Model):
    """A selection committee (AAP24 §8): the ARS of a region, or CNSA/DNS for national dossiers."""

    region = models.CharField("région (vide : comité national)", max_length=2, blank=True)
    date = models.DateField("date du comité")
    cutoff_date = models.DateField("dossiers déposés jusqu'au")
    label = models.CharField("intitulé", max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-date"]
        verbose_name = "comité de sélection"
        verbose_name_plural = "comités de sélection"

    def __str__(self) -> str:
        return f"{self.label} ({self.date:%d/%m/%Y})"


class CommitteeItem(models.Model):
    class Decision(models.TextChoices):
        PENDING = "", "À décider"
        RETAINED = "retenu", "Retenu"
        REJECTED = "non_retenu", "Non retenu"

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="items")
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="committee_items")
    decision = models.CharField("décision", max_length=16, choices=Decision.choices, blank=True)
    reason = models.TextField("motif de la décision", blank=True)
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)

    class Meta:
        ordering = ["dossier__reference"]
        constraints = [models.UniqueConstraint(fields=["committee", "dossier"], name="one_item_per_dossier")]

    def __str__(self) -> str:
        return f"{self.committee} — {self.dossier}"


class PaymentRequest(models.Model):
    """A request for the advance or the balance (F-PAY): the amount the rules compute, line by line, approved by the
    instructors, then paid with the payment's reference and date (dossiers/payments.py)."""

    class Kind(models.TextChoices):
        ADVANCE = "avance", "Avance"
        BALANCE = "solde", "Solde"

    class State(models.TextChoices):
        REQUESTED = "demandee", "Demandée"
        APPROVED = "approuvee", "Approuvée"
        PAID = "versee", "Versée"
        REFUSED = "refusee", "Refusée"

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payment_requests")
    kind = models.CharField("nature", max_length=8, choices=Kind.choices)
    state = models.CharField("état", max_length=16, choices=State.choices, default=State.REQUESTED)
    amount_eur = models.PositiveIntegerField("montant demandé")
    computation = models.JSONField("calcul (lignes et règles)", default=dict)
    equipment_spent_eur = models.PositiveIntegerField("dépense réelle de matériel", null=True, blank=True)
    amoa_spent_eur = models.PositiveIntegerField("dépense réelle d'AMOA", null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField("demandée le", default=clock.now)
    paid_on = models.DateField("versée le", null=True, blank=True)
    payment_reference = models.CharField("référence du paiement", max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)
    transitions = GenericRelation(
        "workflow.TransitionLog", content_type_field="subject_type", object_id_field="subject_id"
    )

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = "demande de paiement"
        verbose_name_plural = "demandes de paiement"

    def __str__(self) -> str:
        return f"{self.dossier.reference} {self.get_kind_display()} {self.amount_eur} €"


class GrappeVersion(models.Model):
    """A change of the grappe after the decision (an ESSMS withdrawn): the grappe and result before and after,
    re-run through the rules core, with the instructor's reason."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="grappe_versions")
    number = models.PositiveIntegerField("version")
    grappe = models.JSONField("grappe")
    result = models.JSONField("résultat des règles")
    change = models.CharField("changement", max_length=255)
    reason = models.TextField("motif")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField("date", default=clock.now)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["dossier", "number"], name="one_grappe_version_number")]

    def __str__(self) -> str:
        return f"{self.dossier.reference} v{self.number}"
