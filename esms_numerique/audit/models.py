"""A tamper-evident log: each entry carries the keyed digest of its fields and of the previous entry's digest
(docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import digests

# The entries of sign-ins, which change no data a page shows (accounts/signals.py).
SIGN_INS = ("login", "login_failed")
# The object type of the entries that record a change of one dossier (its reference in object_id).
DOSSIER = "Dossier"


class AuditEntry(models.Model):
    created_at = models.DateTimeField("date", default=timezone.now)
    actor = models.CharField("auteur", max_length=150)
    action = models.CharField("action", max_length=80)
    object_type = models.CharField("type d'objet", max_length=80)
    object_id = models.CharField("identifiant", max_length=64)
    before = models.JSONField("avant", null=True, blank=True)
    after = models.JSONField("après", null=True, blank=True)
    reason = models.TextField("motif", blank=True)
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)
    version = models.PositiveSmallIntegerField(
        "version de l'empreinte",
        default=digests.KEYED,
        help_text="1 : SHA-256, entrées écrites avant la clé ; 2 : HMAC-SHA256 avec la clé AUDIT_HMAC_KEY.",
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # A page's stamp (esms_numerique/caching.py): one object's last change, and the last change of data
            # that is not a dossier's, each read in one step of an index rather than a scan back through the log.
            models.Index(fields=["object_type", "object_id", "-id"], name="audit_object_last"),
            models.Index(
                fields=["-id"],
                condition=~models.Q(object_type=DOSSIER) & ~models.Q(action__in=SIGN_INS),
                name="audit_other_last",
            ),
        ]
        verbose_name = "entrée du journal d'audit"
        verbose_name_plural = "journal d'audit"

    def __str__(self) -> str:
        return f"{self.created_at:%d/%m/%Y %H:%M} {self.actor} {self.action} {self.object_type} {self.object_id}"

    def fields(self) -> dict[str, Any]:
        return {
            "previous": self.previous_digest,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }

    def compute_digest(self) -> str:
        if self.version == digests.LEGACY:
            return digests.legacy_digest(self.fields())
        return digests.keyed_digest(settings.AUDIT_HMAC_KEY, self.fields())
