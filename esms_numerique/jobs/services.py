"""The only place that changes jobs: a job is written, then its task is queued once the row is committed; the task
runs it once, reports its progress on the row and ends it done (with its file) or failed (with a French error)
(DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from esms_numerique.accounts.access import access_of

from .enums import Kind, Status
from .models import Job, jobs_storage

logger = logging.getLogger(__name__)

UNEXPECTED = (
    "Le travail s'est arrêté sur une erreur inattendue ; rien n'a été modifié. L'administrateur en trouve le détail "
    "dans le journal des tâches."
)
EXPORT_FORMATS = ("csv", "xlsx")


class JobError(Exception):
    """A failure the user can act on; its message is French and says what is wrong."""


class JobRefused(JobError):
    """A job the user may not ask for."""


@dataclass
class Outcome:
    """What a job leaves: a sentence, and a file to download (its name as the user sees it)."""

    summary: str = ""
    file: File | None = None
    file_name: str = ""


# ---------------------------------------------------------------------------------------------------------------
# Who may do what.


def may_import_registry(user) -> bool:
    """Administrators, and whoever holds the Django permission to add an extract (`registry.add_snapshot`, « Peut
    ajouter extraction FINESS » in the admin): importing changes the registry every rule reads."""
    return access_of(user).is_admin or user.has_perm("registry.add_snapshot")


def visible_jobs(user) -> QuerySet[Job]:
    """A job's page: its owner, and administrators (who support users: status and error, not the file)."""
    if not user.is_authenticated:
        return Job.objects.none()
    jobs = Job.objects.select_related("owner")
    return jobs if access_of(user).is_admin else jobs.filter(owner=user)


def may_download(user, job: Job) -> bool:
    """The result is its owner's only, and a dossier's bundle only while the owner still sees the dossier: a file
    does not outlive the right to read what it holds (an administrator does not read drafts, D-DOSSIER-ROLES)."""
    if job.owner_id != user.pk or job.status != Status.DONE or not job.result:
        return False
    if job.kind == Kind.DOSSIER_BUNDLE:
        from esms_numerique.dossiers.access import visible_dossiers

        return visible_dossiers(user).filter(reference=job.params.get("reference")).exists()
    return True


# ---------------------------------------------------------------------------------------------------------------
# Asking for a job.


def _create(user, kind: Kind, label: str, params: dict, inputs: dict[str, UploadedFile] | None = None) -> Job:
    job = Job(id=uuid.uuid4(), kind=kind, label=label[:255], owner=user, params=params)
    job.message = "En attente d'un processus de tâches."
    storage = jobs_storage()
    stored = {}
    for key, upload in (inputs or {}).items():
        # Saved in the job's storage, read back by the task: a worker on another machine reads the same files,
        # and nothing large travels in the queue.
        path = storage.save(f"entrees/{job.id}/{storage.get_valid_name(upload.name)}", upload)
        stored[key] = {"name": upload.name, "path": path}
    if stored:
        job.params = {**params, "inputs": stored}
    job.save()
    transaction.on_commit(lambda: enqueue(job.id))
    return job


def enqueue(job_id) -> None:
    """Queues the job's task. Never raises: a job that could not be queued stays « en attente », and the admin's
    « Relancer » queues it again."""
    from .tasks import run_job

    try:
        result = run_job.enqueue(str(job_id))
    except Exception:
        logger.exception("Travail %s non mis en file : il reste en attente", job_id)
        return
    Job.objects.filter(pk=job_id).update(task_id=result.id)


def start_registry_import(user, et_file: UploadedFile, ej_file: UploadedFile | None = None) -> Job:
    if not may_import_registry(user):
        raise JobRefused("Vous ne pouvez pas importer d'extraction FINESS.")
    inputs = {"et": et_file} | ({"ej": ej_file} if ej_file else {})
    label = f"Import de l'extraction FINESS {et_file.name}" + (f" (EJ : {ej_file.name})" if ej_file else "")
    return _create(user, Kind.REGISTRY_IMPORT, label, {}, inputs)


def start_dossier_bundle(user, dossier) -> Job:
    from esms_numerique.dossiers.access import can_see

    if not can_see(user, dossier):
        raise JobRefused("Dossier introuvable.")
    label = f"Dossier {dossier.reference} (ZIP des pièces et synthèse PDF)"
    return _create(user, Kind.DOSSIER_BUNDLE, label, {"reference": dossier.reference})


def start_dossier_export(user, fmt: str, query: dict[str, str] | None = None) -> Job:
    """`query`: the dossier list's filters (its query string's values), none for every dossier the user sees."""
    if fmt not in EXPORT_FORMATS:
        raise JobRefused(f"Format d'export inconnu « {fmt} ».")
    label = f"Export des dossiers ({fmt.upper()}{', filtré' if query else ''})"
    return _create(user, Kind.DOSSIER_EXPORT, label, {"format": fmt, "query": query or {}})


# ---------------------------------------------------------------------------------------------------------------
# Running a job (called by the task).


class Progress:
    """Writes how far the job has gone on its row, when the percentage or the step changes (at most one write a
    second otherwise): the page reads it every 2 seconds."""

    def __init__(self, job_id):
        self.job_id = job_id
        self.percent, self.message, self.written_at = -1, "", 0.0

    def __call__(self, percent: float, message: str) -> None:
        percent = max(0, min(99, int(percent)))  # 100 is for « terminé »
        now = time.monotonic()
        if percent == self.percent and (message == self.message or now - self.written_at < 1):
            return
        self.percent, self.message, self.written_at = percent, message, now
        Job.objects.filter(pk=self.job_id).update(progress=percent, message=message[:255])


def _work(kind: str) -> Callable[[Job, Progress], Outcome]:
    from . import bundle, exports, registry_import

    return {
        Kind.REGISTRY_IMPORT: registry_import.run,
        Kind.DOSSIER_BUNDLE: bundle.run,
        Kind.DOSSIER_EXPORT: exports.run,
    }[kind]


def run(job_id) -> str:
    """Runs a pending job once: the row goes « en cours » in one conditional update, so a second delivery of the
    same task finds nothing to do. Returns the job's final status."""
    started = Job.objects.filter(pk=job_id, status=Status.PENDING).update(
        status=Status.RUNNING, started_at=timezone.now(), progress=0, message="Démarrage."
    )
    job = Job.objects.select_related("owner").get(pk=job_id)
    if not started:
        return job.status
    try:
        outcome = _work(job.kind)(job, Progress(job.pk))
    except JobError as error:
        _finish(job, Status.FAILED, error=str(error))
    except Exception:
        logger.exception("Travail %s (%s) en échec", job.pk, job.kind)
        _finish(job, Status.FAILED, error=UNEXPECTED)
        raise  # the task fails too: its traceback is kept by the task backend, for the administrator
    else:
        _finish(job, Status.DONE, outcome=outcome)
    finally:
        _drop_inputs(job)
    return job.status


def _finish(job: Job, status: Status, error: str = "", outcome: Outcome | None = None) -> None:
    job.refresh_from_db(fields=["progress"])  # as far as the work went (an import's rolled back writes excepted)
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.progress = 100 if status == Status.DONE else job.progress
    job.message = "Terminé." if status == Status.DONE else "Arrêté sur une erreur."
    if outcome is not None:
        job.summary = outcome.summary
        if outcome.file is not None:
            job.result_name = outcome.file_name
            job.result.save(outcome.file_name, outcome.file, save=False)
            outcome.file.close()
    job.save()


def _drop_inputs(job: Job) -> None:
    """The uploaded files are read once: the registry keeps what it imported, the error names file, line and field."""
    storage = jobs_storage()
    for stored in job.params.get("inputs", {}).values():
        storage.delete(stored["path"])


def requeue(job: Job) -> bool:
    """Administrator: a job left « en attente » (not queued) or « en cours » by a killed worker runs again. Its
    work is all-or-nothing (one transaction for an import, a file written at the end otherwise): nothing is done
    twice."""
    if job.status not in (Status.PENDING, Status.RUNNING):
        return False
    Job.objects.filter(pk=job.pk).update(status=Status.PENDING, progress=0, message="Remis en file.")
    transaction.on_commit(lambda: enqueue(job.pk))
    return True
