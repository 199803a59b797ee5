"""The user's notification choices and following a dossier from the pages; orders to pay back told by e-mail."""

from __future__ import annotations

import pytest
from django.test import Client

from esms_numerique.dossiers.changes import withdraw_essms
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.notifications.models import NotificationPreference
from esms_numerique.notifications.services import is_following
from tests.dossiers.conftest import GRAPPE_FINESS, attach_pieces, grappe, paid_through_request, through_committee

from .conftest import address, body

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_user_chooses_the_daily_digest_for_one_kind(people):
    client = client_for(people["porteur"])
    page = client.get("/compte/notifications/").content.decode()
    assert "Mes notifications" in page and address(people["porteur"]) in page
    client.post("/compte/notifications/", {"paiement": "quotidien", "depot": "immediat", "inconnu": "quotidien"})
    assert dict(NotificationPreference.objects.filter(user=people["porteur"]).values_list("kind", "mode")) == {
        "paiement": "quotidien",
        "depot": "immediat",
    }
    assert (
        'id="paiement-quotidien" name="paiement" value="quotidien" checked'
        in client.get("/compte/notifications/").content.decode()
    )
    assert Client().get("/compte/notifications/").status_code == 302  # anonymous: to the login page


def filed(people):
    porteur = people["porteur"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(4)))
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def test_an_instructor_follows_and_unfollows_from_the_page_a_porteur_cannot(people):
    dossier = filed(people)
    cnsa = client_for(people["national"])
    assert "Suivre ce dossier" in cnsa.get(f"/dossiers/{dossier.reference}/").content.decode()
    cnsa.post(f"/dossiers/{dossier.reference}/suivre/")
    assert is_following(people["national"], dossier)
    assert "Ne plus suivre ce dossier" in cnsa.get(f"/dossiers/{dossier.reference}/").content.decode()
    cnsa.post(f"/dossiers/{dossier.reference}/suivre/")
    assert not is_following(people["national"], dossier)
    porteur = client_for(people["porteur"])
    assert 'id="follow-form"' not in porteur.get(f"/dossiers/{dossier.reference}/").content.decode()
    assert porteur.post(f"/dossiers/{dossier.reference}/suivre/").status_code == 403
    assert client_for(people["autre_porteur"]).post(f"/dossiers/{dossier.reference}/suivre/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_order_to_pay_back_is_told_to_the_porteur(people, smtp):
    porteur, ars = people["porteur"], people["ars"]
    dossier = filed(people)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    for name in ("engager", "signer_convention"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = paid_through_request(porteur, ars, dossier)
    for finess in GRAPPE_FINESS[1:4]:
        dossier = withdraw_essms(ars, dossier, dossier.version, finess, "Fermeture.")
    told = [m for m in smtp.to(address(porteur)) if "ordre de reversement" in str(m["Subject"])]
    assert len(told) == 1 and "21\u202f000 €" in body(told[0])  # 42 000 paid, 21 000 due
