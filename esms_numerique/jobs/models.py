"""Heavy work done by a task, outside the web request: what was asked, by whom, how far it has gone, and what came of
it — a file to download or a French error (DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone

from .enums import OPEN, Kind, Status


def jobs_storage() -> FileSystemStorage:
    """Next to the dossiers' pieces, outside the web root: a bundle holds pieces, an export holds dossiers, so no URL
    serves these files; a view checks who asks and streams them."""
    return FileSystemStorage(location=Path(settings.PIECES_ROOT) / "travaux", base_url=None)


class Job(models.Model):
    # A UUID in the page's address: a job's address says nothing of how many others there are.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField("nature", max_length=32, choices=Kind.choices)
    label = models.CharField("intitulé", max_length=255)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="demandé par", on_delete=models.CASCADE, related_name="jobs"
    )
    params = models.JSONField(
        "paramètres", default=dict, blank=True, help_text="Ce que la tâche lit : dossier, format, fichiers déposés."
    )
    status = models.CharField("état", max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField("avancement (%)", default=0)
    message = models.CharField("étape en cours", max_length=255, blank=True)
    result = models.FileField("résultat", storage=jobs_storage, upload_to="resultats/%Y/%m/", blank=True)
    result_name = models.CharField("nom du fichier à télécharger", max_length=255, blank=True)
    summary = models.TextField("compte rendu", blank=True)
    error = models.TextField("erreur", blank=True)
    task_id = models.CharField("tâche (django-tasks)", max_length=64, blank=True)
    created_at = models.DateTimeField("demandé le", default=timezone.now)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="job_owner_recent")]
        verbose_name = "travail en arrière-plan"
        verbose_name_plural = "travaux en arrière-plan"

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        """Still to run or running: its page keeps refreshing itself."""
        return self.status in OPEN
