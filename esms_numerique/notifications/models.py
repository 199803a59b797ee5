"""The outbox (one row per e-mail: the source of truth of what is to send, was sent or failed), each user's choice
between immediate messages and the daily digest, and the dossiers an instructor follows
(docs/decisions.md, D-NOTIFICATIONS)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .enums import Kind, Mode, Status


class Notification(models.Model):
    """One e-mail to one person. Written with its subject and bodies once and for all; a sender locks the row, sends
    it and marks it sent in the same transaction, so that a row is sent once however many senders run."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="destinataire",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    email = models.EmailField("adresse", blank=True)
    kind = models.CharField("nature", max_length=16, choices=Kind.choices)
    event = models.CharField("événement", max_length=64, help_text="Transition ou rappel qui a produit le message.")
    reference = models.CharField("dossier ou commande", max_length=32, blank=True, db_index=True)
    subject = models.CharField("objet", max_length=255)
    body_text = models.TextField("texte", blank=True)
    body_html = models.TextField("HTML", blank=True)
    link = models.CharField("lien", max_length=500, blank=True)
    event_key = models.CharField(
        "clé d'événement",
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Un rappel par échéance et par destinataire : la même clé n'est jamais écrite deux fois.",
    )
    digest = models.BooleanField("pour le récapitulatif quotidien", default=False)
    grouped_in = models.ForeignKey(
        "self",
        verbose_name="regroupé dans",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grouped",
    )
    status = models.CharField("état", max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.TextField("dernière erreur", blank=True)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    next_attempt_at = models.DateTimeField("prochaine tentative après", null=True, blank=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "courriel"
        verbose_name_plural = "courriels (boîte d'envoi)"
        indexes = [models.Index(fields=["status", "digest"], name="notif_status_digest")]

    def __str__(self) -> str:
        return f"{self.email or '—'} : {self.subject}"


class NotificationPreference(models.Model):
    """Absent: immediate. One row per user and kind that the user set."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_modes")
    kind = models.CharField("nature", max_length=16, choices=Kind.choices)
    mode = models.CharField("envoi", max_length=16, choices=Mode.choices, default=Mode.IMMEDIATE)

    class Meta:
        verbose_name = "préférence de notification"
        verbose_name_plural = "préférences de notification"
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_mode_per_user_and_kind")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_kind_display()} : {self.get_mode_display()}"


class Follow(models.Model):
    """An instructor's choice about one dossier: `following` adds a dossier outside their default scope, or keeps a
    default one; not `following` silences a dossier they would otherwise be told about."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dossier_follows")
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="follows")
    following = models.BooleanField("suit le dossier", default=True)
    at = models.DateTimeField("depuis le", default=timezone.now)

    class Meta:
        verbose_name = "suivi de dossier"
        verbose_name_plural = "suivis de dossiers"
        constraints = [models.UniqueConstraint(fields=["user", "dossier"], name="one_follow_per_user_and_dossier")]

    def __str__(self) -> str:
        return f"{self.user} {'suit' if self.following else 'ne suit plus'} {self.dossier_id}"
