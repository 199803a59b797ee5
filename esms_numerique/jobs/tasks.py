"""The task that runs a job (django-tasks: at once by default, by `manage.py db_worker` in production). It carries
the job's id only; the row says what to do and records how it went (DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

from django_tasks import task


@task()
def run_job(job_id: str) -> str:
    from .services import run

    return run(job_id)
