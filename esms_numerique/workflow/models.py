"""One transition log for every subject that has a lifecycle (dossiers, SONS orders), and the counters that
number them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from esms_numerique import clock


class TransitionLog(models.Model):
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    at = models.DateTimeField("date", default=clock.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    transition = models.CharField("transition", max_length=64)
    from_state = models.CharField("état de départ", max_length=32)
    to_state = models.CharField("état d'arrivée", max_length=32)
    comment = models.TextField("commentaire", blank=True)
    inputs = models.JSONField("données saisies", default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="transition_subject")]
        verbose_name = "transition"

    def __str__(self) -> str:
        return f"{self.subject_id} {self.from_state} → {self.to_state}"


class ReferenceCounter(models.Model):
    """The last number given for a key (« ESMS-2024 », « BC-MS1 »): references never come from count()."""

    key = models.CharField(max_length=32, unique=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} {self.value}"
