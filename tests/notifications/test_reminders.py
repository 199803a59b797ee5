"""The daily reminders with the platform's clock moved (ESMS_TODAY): told when due, once per deadline."""

from __future__ import annotations

import pytest

from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.notifications.models import Notification
from esms_numerique.notifications.reminders import run
from tests.dossiers.conftest import attach_pieces, grappe, through_committee

from .conftest import address, body

pytestmark = pytest.mark.django_db
NONE = {"complement": 0, "fin_deploiement": 0, "sons_preuves": 0, "sons_calendrier": 0, "mesure": 0}


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    def at(settings, day: str) -> dict[str, int]:
        settings.ESMS_TODAY = day
        with django_capture_on_commit_callbacks(execute=True):
            return run()

    return at


def filed(people, operation="acquisition"):
    porteur = people["porteur"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(4, operation=operation)))
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def test_an_unanswered_complement_is_recalled_once_after_fifteen_days(people, smtp, settings, remind):
    porteur, ars = people["porteur"], people["ars"]
    dossier = filed(people)
    apply_transition(ars, dossier, "demander_complement", dossier.version, "Le RIB.")  # on 11/03/2024
    assert remind(settings, "2024-03-25") == NONE
    assert remind(settings, "2024-03-26") == {**NONE, "complement": 1}
    (message,) = smtp.to(address(porteur))
    assert str(message["Subject"]).strip() == "[ESMS numérique] ESMS-2024-00001 : complément attendu"
    assert "demandé le 11/03/2024" in body(message) and "(15 jours)" in body(message)
    assert "https://esms.exemple.gouv.fr/dossiers/ESMS-2024-00001/" in body(message)
    assert remind(settings, "2024-03-27") == NONE
    assert len(smtp.received) == 1
    assert Notification.objects.get().event_key.startswith("rappel:complement:")


def test_a_deployment_end_is_recalled_thirty_days_before(people, smtp, settings, remind):
    porteur, ars = people["porteur"], people["ars"]
    dossier = filed(people, operation="upgrade")
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    dossier = apply_transition(ars, dossier, "engager", dossier.version, "", {"engagement_reference": "EJ-1"})
    apply_transition(ars, dossier, "signer_convention", dossier.version)  # 11/03/2024: nine months, 11/12/2024
    assert remind(settings, "2024-11-10") == NONE
    assert remind(settings, "2024-11-11") == {**NONE, "fin_deploiement": 2}
    subject = "[ESMS numérique] ESMS-2024-00001 : fin de déploiement le 11/12/2024"
    assert [str(m["Subject"]).strip() for _, m in smtp.received] == [subject, subject]
    assert sorted(r[0] for r, _ in smtp.received) == sorted([address(porteur), address(ars)])
    assert remind(settings, "2024-11-12") == NONE
    assert len(smtp.received) == 2


def test_a_dossier_in_deployment_without_measurement_is_recalled_once(people, smtp, settings, remind):
    from tests.dossiers.conftest import paid_through_request

    porteur, ars = people["porteur"], people["ars"]
    dossier = filed(people)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    for name in ("engager", "signer_convention"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = paid_through_request(porteur, ars, dossier)
    apply_transition(porteur, dossier, "demarrer_deploiement", dossier.version)  # on 11/03/2024
    assert remind(settings, "2024-04-24")["mesure"] == 0
    assert remind(settings, "2024-04-25")["mesure"] == 1  # 45 days without a measurement
    (message,) = [m for _, m in smtp.received if "mesure d'usage attendue" in str(m["Subject"])]
    assert "depuis le 11/03/2024" in body(message)
    assert remind(settings, "2024-04-26")["mesure"] == 0
