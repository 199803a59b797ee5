"""SONS orders by e-mail: the order registered (sons.services.sign_order, not a transition), its steps, its
cancellation, and the 120-day clock of a solution still candidate to referencing."""

from __future__ import annotations

import datetime as dt

import pytest

from esms_numerique.notifications.reminders import run
from esms_numerique.sons.models import Solution
from esms_numerique.sons.services import ItemRequest, apply_order_transition, sign_order
from tests.sons.conftest import ESSMS, world  # noqa: F401  (fixture)

from .conftest import body, subject

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(world, settings):  # noqa: F811
    settings.ESMS_TODAY = "2023-05-02"
    for name in ("editeur", "og_user", "cnsa", "autre_editeur"):
        world[name].email = f"{world[name].username}@exemple.fr"
        world[name].save(update_fields=["email"])
    return world


def order(people, solution=None, on=dt.date(2023, 5, 1)):
    items = [ItemRequest(n, "4.2", "5.0") for n in ESSMS[:3]]
    return sign_order(people["editeur"], people["og"], solution or people["solution"], "PA", on, items)


def test_an_order_registered_its_steps_and_its_cancellation(clients, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed = order(clients)
    (registered,) = smtp.to("og@exemple.fr")
    assert subject(registered) == "[ESMS numérique] BC-MS1-00001 : commande enregistrée"
    assert "https://esms.exemple.gouv.fr/sons/commandes/BC-MS1-00001/" in body(registered)
    assert "Éditeur synthétique a enregistré la commande BC-MS1-00001" in body(registered)
    assert "ESSMS commandés : 3" in body(registered)
    with django_capture_on_commit_callbacks(execute=True):
        signed = apply_order_transition(clients["editeur"], signed, "demander_avance", signed.version)
        apply_order_transition(clients["editeur"], signed, "annuler", signed.version, "L'OG renonce.")
    cancelled = "[ESMS numérique] BC-MS1-00001 : commande annulée"
    assert [subject(m) for m in smtp.to("cnsa@exemple.fr")] == [
        "[ESMS numérique] BC-MS1-00001 : avance demandée",
        cancelled,
    ]
    assert subject(smtp.to("og@exemple.fr")[-1]) == cancelled
    assert "« L'OG renonce. »" in body(smtp.to("og@exemple.fr")[-1])
    assert smtp.to("editeur@exemple.fr") == smtp.to("autre_editeur@exemple.fr") == []  # the éditeur cancelled


def test_the_120_day_clock_is_recalled_at_90_days_then_the_advance_deadline(
    clients, smtp, settings, django_capture_on_commit_callbacks
):
    candidate = Solution.objects.create(
        editor=clients["solution"].editor, name="DUI", version="6.0", couloir="MS1", referencing="candidat"
    )
    order(clients, candidate)  # 01/05/2023: proofs due by 29/08/2023

    def remind(day):
        settings.ESMS_TODAY = day
        with django_capture_on_commit_callbacks(execute=True):
            return {k: v for k, v in run().items() if v}

    assert remind("2023-07-29") == {}
    assert remind("2023-07-30") == {"sons_preuves": 2}
    proofs = "[ESMS numérique] BC-MS1-00001 : preuves à déposer à l'ANS avant le 29/08/2023"
    assert [subject(m) for m in smtp.to("editeur@exemple.fr")] == [subject(m) for m in smtp.to("og@exemple.fr")]
    assert subject(smtp.to("editeur@exemple.fr")[0]) == proofs
    assert remind("2023-08-15") == {}
    assert remind("2023-12-11") == {"sons_calendrier": 1}
    assert subject(smtp.to("editeur@exemple.fr")[-1]) == (
        "[ESMS numérique] BC-MS1-00001 : demande d'avance jusqu'au 10/01/2024"
    )
    assert remind("2023-12-12") == {}
    assert len(smtp.to("og@exemple.fr")) == 1  # the 90-day warning; the advance deadline is the éditeur's
