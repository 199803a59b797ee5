"""On PostgreSQL, production's set-up: the job waits in the database until `manage.py db_worker`, another process,
runs it from the files saved in the job's storage (DECISION D-JOBS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from esms_numerique.jobs.enums import Status
from esms_numerique.jobs.models import Job
from esms_numerique.registry.models import Establishment
from tests.registry.test_import import et_line, extract

from .test_jobs import upload

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="file de tâches dans PostgreSQL"),
]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_a_worker_runs_the_import_the_page_queued(client, django_user_model, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client.force_login(django_user_model.objects.create_superuser("admin", password="x"))
    data = extract(et_line("350000022"), et_line("350001004"))
    response = client.post(reverse("www:registry_import"), {"et_file": upload("et.csv", data)})
    job = Job.objects.get()
    assert response["Location"] == reverse("www:job_detail", kwargs={"pk": job.pk})
    assert (job.status, Establishment.objects.count()) == (Status.PENDING, 0)
    assert "En attente" in client.get(response["Location"]).content.decode()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "ESMS_PIECES_ROOT": str(settings.PIECES_ROOT),
    }
    command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--interval", "0.1"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()

    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (Status.DONE, 100, ""), job.error
    assert Establishment.objects.count() == 2
