"""Partners of the API: personal API tokens (stored hashed), webhooks and their deliveries, the signed order forms
éditeurs upload, and the change stamps that `modifie_depuis` reads (docs/decisions.md, D-API-TOKENS, D-WEBHOOKS,
D-API-SYNC)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from esms_numerique import clock


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "lecture", "Lecture"
        WRITE = "ecriture", "Lecture et écriture"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("nom", max_length=100)
    prefix = models.CharField("début du jeton", max_length=16, help_text="Affiché pour reconnaître le jeton.")
    digest = models.CharField("empreinte SHA-256", max_length=64, unique=True)
    scope = models.CharField("portée", max_length=16, choices=Scope.choices)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    expires_on = models.DateField("expire le", null=True, blank=True, help_text="Dernier jour de validité.")
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "jeton d'API"
        verbose_name_plural = "jetons d'API"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def expired(self) -> bool:
        return self.expires_on is not None and clock.today() > self.expires_on

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired


class Webhook(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField("adresse", max_length=500)
    secret = models.CharField("secret partagé", max_length=200)
    active = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    updated_at = models.DateTimeField("modifié le", default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook"

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "en_attente", "En attente"
        SENDING = "en_cours", "En cours d'envoi"
        DELIVERED = "livree", "Livrée"
        FAILED = "echec", "Échec (nouvel essai prévu)"
        ABANDONED = "abandonnee", "Abandonnée"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField("identifiant de livraison", default=uuid.uuid4, unique=True)
    event = models.CharField("événement", max_length=64)
    reference = models.CharField("dossier ou commande", max_length=32, blank=True)
    payload = models.JSONField("contenu")
    state = models.CharField("état", max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField("essais", default=0)
    next_attempt_at = models.DateTimeField("prochain essai", null=True, blank=True, db_index=True)
    last_status = models.PositiveSmallIntegerField("dernier statut HTTP", null=True, blank=True)
    last_error = models.TextField("dernière erreur", blank=True)
    created_at = models.DateTimeField("créée le", default=timezone.now)
    delivered_at = models.DateTimeField("livrée le", null=True, blank=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "livraison de webhook"
        verbose_name_plural = "livraisons de webhooks"

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class SignedOrderForm(models.Model):
    """The bon de commande the OG signed, uploaded by the éditeur (PDF)."""

    order = models.OneToOneField("sons.Order", on_delete=models.CASCADE, related_name="signed_form")
    file = models.FileField("bon de commande signé", upload_to="bons-signes/%Y/")
    original_name = models.CharField("nom du fichier", max_length=255)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("déposé le", default=timezone.now)

    class Meta:
        verbose_name = "bon de commande signé"
        verbose_name_plural = "bons de commande signés"

    def __str__(self) -> str:
        return self.original_name


class Change(models.Model):
    """When a dossier or an order last changed: stamped by every audit entry about it (audit log), read by
    `modifie_depuis` and the cursor pagination (order: changed_at, then the object's id)."""

    class Kind(models.TextChoices):
        DOSSIER = "dossier", "Dossier"
        ORDER = "commande", "Commande SONS"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    reference = models.CharField(max_length=64)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="one_change_stamp_per_object")]
        verbose_name = "dernier changement"

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} {self.changed_at:%Y-%m-%d %H:%M:%S}"
