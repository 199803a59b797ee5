"""The outbox: the daily digest, a refusal of the server tried again and recorded, a row failed after the last
attempt (admin), a listener that fails without breaking the step, and the commands."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from django.utils import timezone

from esms_numerique.cli import main
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.notifications.enums import Kind, Mode, Status
from esms_numerique.notifications.models import Notification
from esms_numerique.notifications.services import send_digests, send_pending, set_preference
from tests.dossiers.conftest import attach_pieces, grappe

from .conftest import address, body, subject

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a step as if its transaction committed: the listeners, then the tasks they enqueue."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


@pytest.fixture
def filed(people, committed):
    porteur = people["porteur"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(4)))
    return committed(apply_transition, porteur, dossier, "deposer", dossier.version)


def test_the_daily_digest_gathers_a_users_rows_into_one_email(people, smtp, committed, filed):
    porteur, ars = people["porteur"], people["ars"]
    set_preference(porteur, Kind.COMPLEMENT, Mode.DIGEST)
    set_preference(porteur, "recevabilite", "quotidien")
    dossier = committed(apply_transition, ars, filed, "demander_complement", filed.version, "Le RIB, merci.")
    dossier = committed(apply_transition, porteur, dossier, "completer", dossier.version)
    committed(apply_transition, ars, dossier, "declarer_non_recevable", dossier.version, "Hors champ.")
    assert smtp.subjects(address(porteur)) == ["[ESMS numérique] ESMS-2024-00001 : accusé de réception du dépôt"]
    waiting = Notification.objects.filter(user=porteur, digest=True, status=Status.PENDING)
    assert waiting.count() == 2

    assert committed(send_digests) == 1
    digest = smtp.to(address(porteur))[-1]
    assert subject(digest) == "[ESMS numérique] Récapitulatif du 11/03/2024 : 2 notifications"
    text = body(digest)
    assert "ESMS-2024-00001 : complément demandé" in text and "ESMS-2024-00001 : dossier non recevable" in text
    assert "https://esms.exemple.gouv.fr/dossiers/ESMS-2024-00001/" in text
    row = Notification.objects.get(event="recapitulatif")
    assert (row.status, set(row.grouped.values_list("status", flat=True))) == (Status.SENT, {Status.GROUPED})
    assert committed(send_digests) == 0
    assert len(smtp.to(address(porteur))) == 2


def test_a_refused_send_is_recorded_and_tried_again(people, smtp, committed, filed):
    smtp.refuse = 1
    committed(apply_transition, people["ars"], filed, "demander_complement", filed.version, "Le RIB.")
    row = Notification.objects.get(event="dossier:demander_complement")
    assert (row.status, row.attempts, row.sent_at) == (Status.PENDING, 1, None)
    assert "451" in row.last_error and "réessayez plus tard" in row.last_error
    assert row.next_attempt_at > timezone.now() + dt.timedelta(minutes=4)
    assert smtp.subjects(address(people["porteur"]))[-1].endswith("accusé de réception du dépôt")

    assert send_pending() == {}  # not due yet
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert send_pending() == {"envoyé": 1}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at is not None) == (Status.SENT, 2, True)
    assert smtp.subjects(address(people["porteur"]))[-1].endswith("complément demandé")
    assert send_pending() == {}


def test_after_the_last_attempt_a_row_fails_visibly_and_the_admin_sends_it_again(
    people, smtp, committed, filed, settings, client
):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    smtp.refuse = 5
    committed(apply_transition, people["ars"], filed, "demander_complement", filed.version, "Le RIB.")
    row = Notification.objects.get(event="dossier:demander_complement")
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert send_pending() == {"échec": 1}
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 2)

    client.force_login(people["admin"])
    page = client.get("/admin/notifications/notification/", {"status__exact": Status.FAILED})
    assert page.status_code == 200
    assert "complément demandé" in page.content.decode()
    smtp.refuse = 0
    with_action = {"action": "send_again", "_selected_action": [row.pk]}
    assert client.post("/admin/notifications/notification/", with_action).status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)


def test_a_listener_that_fails_never_breaks_the_step(people, smtp, committed, filed, monkeypatch):
    def broken(*args):
        raise RuntimeError("gabarit introuvable")

    monkeypatch.setattr("esms_numerique.notifications.services.about", broken)
    dossier = committed(apply_transition, people["ars"], filed, "demander_complement", filed.version, "Le RIB.")
    assert dossier.state == "complement_demande"
    failure = Notification.objects.get(status=Status.FAILED)
    assert (failure.reference, failure.event) == ("ESMS-2024-00001", "erreur:demander_complement")
    assert "gabarit introuvable" in failure.last_error


def test_the_commands(people, smtp, committed, filed):
    runner = CliRunner()
    smtp.refuse = 1
    committed(apply_transition, people["ars"], filed, "demander_complement", filed.version, "Le RIB.")
    Notification.objects.filter(status=Status.PENDING).update(next_attempt_at=None)
    result = committed(runner.invoke, main, ["notifications", "envoyer"])
    assert (result.exit_code, result.output) == (0, "Courriels : 1 envoyé.\n")
    result = committed(runner.invoke, main, ["notifications", "rappels", "--date", "2024-03-12"])
    assert result.output == (
        "Rappels du 12/03/2024 : complement 0, fin_deploiement 0, sons_preuves 0, sons_calendrier 0, mesure 0.\n"
    )
    assert runner.invoke(main, ["notifications", "rappels", "--date", "12/03"]).exit_code == 2
    assert committed(runner.invoke, main, ["notifications", "recapitulatif"]).output == "Récapitulatifs envoyés : 0.\n"
