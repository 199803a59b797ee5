"""On PostgreSQL, production's set-up: tasks wait in the database for `manage.py db_worker`. A worker killed while
it talks to the SMTP server leaves its row pending; `esms notifications envoyer` sends it, once. Two senders at the
same time never send a row twice (rows locked, the other's skipped)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.notifications.enums import Status
from esms_numerique.notifications.models import Notification
from esms_numerique.notifications.services import send_pending
from tests.dossiers.conftest import attach_pieces, grappe

from .conftest import address, subject

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="verrous de lignes : PostgreSQL seulement"),
]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(smtp) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": _database_url(),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
    }
    command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--interval", "0.1"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_a_worker_killed_mid_send_leaves_its_row_pending_and_it_is_sent_once(people, smtp, settings):
    settings.TASKS = DATABASE_TASKS
    porteur = people["porteur"]
    for user in people.values():
        if user != porteur:
            user.email = ""
            user.save(update_fields=["email"])
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(4)))
    apply_transition(porteur, dossier, "deposer", dossier.version)  # the receipt, queued in the database
    row = Notification.objects.get()
    assert (row.status, len(smtp.received)) == (Status.PENDING, 0)

    smtp.stall = True
    worker = _worker(smtp)
    try:
        assert smtp.stalled.wait(30), worker.stderr.read().decode() if worker.poll() is not None else "no DATA"
        assert send_pending() == {"ignoré": 1}  # the worker holds the row: skipped, not sent twice
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        worker.stderr.close()
        smtp.release.set()

    # The killed worker's transaction is rolled back once PostgreSQL sees its connection gone.
    deadline = time.monotonic() + 15
    while Notification.objects.get(pk=row.pk).status == Status.PENDING and time.monotonic() < deadline:
        send_pending()
        time.sleep(0.1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert [subject(m) for m in smtp.to(address(porteur))] == [
        "[ESMS numérique] ESMS-2024-00001 : accusé de réception du dépôt"
    ]
    assert send_pending() == {}


def test_two_senders_at_once_send_each_row_once(people, smtp, settings):
    settings.TASKS = DATABASE_TASKS  # queued, not sent: both senders find every row pending
    porteur, ars = people["porteur"], people["ars"]
    for number in range(3):
        dossier = attach_pieces(porteur, create_dossier(porteur, f"Grappe {number}", "2024", grappe(4)))
        dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
        apply_transition(ars, dossier, "demander_complement", dossier.version, "Le RIB.")
    pending = Notification.objects.filter(status=Status.PENDING).count()
    assert pending == 9  # receipts, the ARS, the complements
    outcomes, start = [], threading.Barrier(2)

    def sender():
        try:
            start.wait()
            outcomes.append(send_pending())
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(o.get("envoyé", 0) for o in outcomes) == len(smtp.received) == pending
    assert len({(tuple(r), subject(m)) for r, m in smtp.received}) == pending
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}
