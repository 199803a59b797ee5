"""Committees: an agenda of dossiers under instruction filed by the cut-off date, decisions with reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.dossiers.committees import add_to_agenda, create_committee, decide, eligible_dossiers
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import DossierError, apply_transition, create_dossier
from tests.pdfs import pdf_text

from .conftest import attach_pieces, grappe

pytestmark = pytest.mark.django_db


@pytest.fixture
def instructed(users):
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    dossier = attach_pieces(users["porteur"], dossier)
    dossier = apply_transition(users["porteur"], dossier, "deposer", dossier.version)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(users["ars"], dossier, name, dossier.version)
    return dossier


def test_committee_agenda_and_decision(users, instructed):
    ars = users["ars"]
    early = create_committee(ars, "Comité de mars", dt.date(2024, 3, 5), dt.date(2024, 3, 1))
    assert not eligible_dossiers(ars, early).exists()  # filed on 11/03, after the cut-off
    april = create_committee(ars, "Comité d'avril", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    assert list(eligible_dossiers(ars, april)) == [instructed]
    with pytest.raises(DossierError, match="ne peut pas être inscrit"):
        add_to_agenda(ars, early, instructed)
    item = add_to_agenda(ars, april, instructed)
    instructed.refresh_from_db()
    assert instructed.state == State.PRESENTE_COMITE
    with pytest.raises(DossierError, match="motivée"):
        decide(ars, item, "retenu", " ")
    decide(ars, item, "retenu", "Projet mutualisé, interopérabilité MSSanté et DMP.")
    instructed.refresh_from_db()
    assert (instructed.state, instructed.engaged_eur) == (State.RETENU, 420000)
    with pytest.raises(DossierError, match="déjà prise"):
        decide(ars, item, "non_retenu", "Changement d'avis")


def test_only_the_scope_instructors_hold_committees(users, instructed):
    for who in ("porteur", "observateur"):
        with pytest.raises(PermissionDenied):
            create_committee(users[who], "Comité", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    idf = create_committee(users["autre_ars"], "Comité IdF", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    assert not eligible_dossiers(users["autre_ars"], idf).exists()
    breton = create_committee(users["ars"], "Comité", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    with pytest.raises(PermissionDenied):
        add_to_agenda(users["autre_ars"], breton, instructed)
    with pytest.raises(DossierError, match="précéder"):
        create_committee(users["ars"], "Comité", dt.date(2024, 4, 10), dt.date(2024, 4, 30))


def test_committee_pages(users, instructed):
    client = Client()
    client.force_login(users["ars"])
    response = client.post(
        "/comites/", {"label": "Comité d'avril", "date": "2024-04-10", "cutoff_date": "2024-03-31"}, follow=True
    )
    committee_url = response.redirect_chain[-1][0]
    assert instructed.reference in response.content.decode()
    client.post(committee_url + "inscrire/", {"reference": instructed.reference})
    page = client.get(committee_url).content.decode()
    assert f'data-reference="{instructed.reference}"' in page
    item = instructed.committee_items.get()
    client.post(f"{committee_url}decision/{item.pk}/", {"decision": "non_retenu", "reason": "Enveloppe épuisée"})
    instructed.refresh_from_db()
    assert instructed.state == State.NON_RETENU
    outsider = Client()
    outsider.force_login(users["autre_ars"])
    assert outsider.get(committee_url).status_code == 404
    porteur = Client()
    porteur.force_login(users["porteur"])
    assert porteur.get("/comites/").status_code == 403


def test_notification_letters(users, instructed):
    ars, porteur = users["ars"], users["porteur"]
    client = Client()
    client.force_login(porteur)
    assert client.get(f"/dossiers/{instructed.reference}/notification/").status_code == 404
    committee = create_committee(ars, "Comité d'avril", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    decide(ars, add_to_agenda(ars, committee, instructed), "retenu", "Projet mutualisé.")
    response = client.get(f"/dossiers/{instructed.reference}/notification/")
    assert response["Content-Type"] == "application/pdf"
    letter = pdf_text(response.content)  # the PDF's fonts have no narrow no-break space: a plain space
    assert "agence régionale de santé Bretagne" in letter
    assert "420 000 €" in letter
    assert "Projet mutualisé." in letter
    outsider = Client()
    outsider.force_login(users["autre_porteur"])
    assert outsider.get(f"/dossiers/{instructed.reference}/notification/").status_code == 404
