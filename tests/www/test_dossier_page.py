"""The dossier's page (DECISION D-DOSSIER-PAGE): its sections in order with the ESSMS named near the top, the
actions of the state grouped, a decision against the porteur taken only once confirmed, a French message after
every action, the pieces' limits said before the upload."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from tests.dossiers.conftest import PDF, STANDARD_PIECES
from tests.instruction import conftest as world
from tests.instruction.conftest import BZH, IDF, filed, grappe, html

# The multiregional world of tests/instruction, its fixtures used here.
campaign_2024, registry, users, multiregional = world.campaign_2024, world.registry, world.users, world.multiregional

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_sections_come_in_order_with_the_essms_named_near_the_top(users, multiregional):
    page = html(client_for(users["ars"]).get(f"/dossiers/{multiregional.reference}/"))
    order = [
        'id="dossier-summary"',
        'id="summary-title"',
        'id="actions"',
        'id="resume"',
        'id="essms-table"',
        'id="montants"',
        'id="pieces-section"',
        'id="echanges"',
        'id="historique"',
        'id="annotations"',
    ]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    resume = page[page.index('id="resume"') : page.index('id="montants"')]
    for finess in (*BZH, *IDF):
        assert finess in resume
    assert "EHPAD BRETON 0" in resume and "EHPAD PARISIEN 3" in resume
    assert "DUI Synthétique 5.0" in resume and "Éditeur synthétique" in resume
    # The calculation's detail is behind a closed disclosure; one « Commentaire » box on the page.
    assert '<details class="fr-mb-3w" id="calculation">' in page  # closed once filed
    assert page.count("Commentaire (transmis au porteur)") == 1
    # The porteur has no private annotations, no instruction section.
    porteur = html(client_for(users["porteur"]).get(f"/dossiers/{multiregional.reference}/"))
    assert 'id="annotations"' not in porteur and 'id="instruction"' not in porteur
    assert porteur.index('id="essms-table"') < porteur.index('id="pieces-section"')


def test_a_decision_against_the_porteur_asks_for_a_confirmation(users, multiregional):
    ars = client_for(users["ars"])
    page = html(ars.get(f"/dossiers/{multiregional.reference}/"))
    danger = page[page.index('data-transition="declarer_non_recevable"') :]
    danger = danger[: danger.index("</form>")]
    assert 'data-danger="true"' in danger and "fr-btn--secondary" in danger and "<textarea" not in danger
    url = f"/dossiers/{multiregional.reference}/action/"
    body = {"transition": "declarer_non_recevable", "version": multiregional.version}
    step = ars.post(url, body)
    assert step.status_code == 200
    confirm = html(step)
    assert "Confirmer : Déclarer non recevable" in confirm and 'name="confirmer" value="oui"' in confirm
    assert "Cette décision est défavorable au porteur" in confirm
    multiregional.refresh_from_db()
    assert multiregional.state == State.DEPOSE  # nothing taken yet
    # Confirmed without its reason: refused in French; confirmed with it: taken, and said.
    refused = html(ars.post(url, body | {"confirmer": "oui"}, follow=True))
    assert "Action refusée" in refused
    multiregional.refresh_from_db()
    assert multiregional.state == State.DEPOSE
    done = ars.post(url, body | {"confirmer": "oui", "comment": "Pièces essentielles absentes."}, follow=True)
    assert "« Déclarer non recevable » : fait. Dossier désormais « Non recevable »." in html(done)
    assert Dossier.objects.get(pk=multiregional.pk).state == State.NON_RECEVABLE
    # Someone who may not take it does not even get the confirmation step.
    other = filed(users["porteur"], BZH[:2], "Grappe bretonne")
    response = client_for(users["autre_ars"]).post(
        f"/dossiers/{other.reference}/action/", {"transition": "declarer_non_recevable", "version": other.version}
    )
    assert response.status_code == 404
    response = client_for(users["observateur"]).post(
        f"/dossiers/{other.reference}/action/", {"transition": "declarer_non_recevable", "version": other.version}
    )
    assert response.status_code == 403


def test_a_french_message_after_each_action(users, multiregional):
    ars, porteur = client_for(users["ars"]), client_for(users["porteur"])
    reference = multiregional.reference
    response = ars.post(
        f"/dossiers/{reference}/action/",
        {"transition": "demander_complement", "version": multiregional.version, "comment": "Joignez le devis."},
        follow=True,
    )
    assert "« Demander un complément » : fait. Dossier désormais « Complément demandé »." in html(response)
    response = porteur.post(f"/dossiers/{reference}/message/", {"body": "Le devis arrive."}, follow=True)
    assert "Message envoyé." in html(response)
    response = ars.post(f"/dossiers/{reference}/message/", {"body": "À suivre.", "private": "on"}, follow=True)
    assert "Annotation privée enregistrée." in html(response)
    response = ars.post(f"/dossiers/{reference}/message/", {"body": ""}, follow=True)
    assert "Message non envoyé : écrivez un message." in html(response)
    upload = SimpleUploadedFile("devis.pdf", PDF, content_type="application/pdf")
    code = STANDARD_PIECES[0]
    response = porteur.post(f"/dossiers/{reference}/pieces/", {"code": code, "file": upload}, follow=True)
    assert "Pièce « devis.pdf » jointe." in html(response)


def test_the_piece_form_says_its_limits_before_the_upload_and_shows_labels(users, registry, settings):
    from esms_numerique.dossiers.services import create_dossier

    settings.PIECE_MAX_BYTES = 10 * 1024 * 1024
    draft = create_dossier(users["porteur"], "Brouillon", "2024", grappe(BZH[:2]))
    page = html(client_for(users["porteur"]).get(f"/dossiers/{draft.reference}/"))
    form = page[page.index('id="piece-form"') :]
    form = form[: form.index("</form>")]
    assert "Taille maximale : 10 Mo." in form and "PDF" in form and "DOCX" in form
    assert form.index("Taille maximale") < form.index('type="file"')
    assert "lettre_engagement" not in form.replace('value="lettre_engagement"', "")


def test_refusing_a_payment_request_asks_for_a_confirmation(users):
    from esms_numerique.dossiers.services import apply_transition
    from tests.dossiers.conftest import through_committee

    ars, porteur = users["ars"], users["porteur"]
    dossier = filed(porteur, BZH[:3], "Grappe bretonne")
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    for name in ("engager", "signer_convention"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = apply_transition(porteur, dossier, "demander_avance", dossier.version)
    payment = dossier.payment_requests.get()
    client = client_for(ars)
    page = html(client.get(f"/dossiers/{dossier.reference}/"))
    refuse = page[page.index('data-payment-transition="refuser"') :]
    assert 'data-danger="true"' in refuse[:60] and "<textarea" not in refuse[: refuse.index("</form>")]
    url = f"/dossiers/{dossier.reference}/paiements/{payment.pk}/"
    body = {"transition": "refuser", "version": payment.version}
    confirm = html(client.post(url, body))
    assert "Confirmer : Refuser la demande" in confirm and f'action="{url}"' in confirm
    payment.refresh_from_db()
    assert payment.get_state_display() == "Demandée"
    assert client_for(users["autre_ars"]).post(url, body).status_code == 404
    done = html(client.post(url, body | {"confirmer": "oui", "comment": "RIB manquant."}, follow=True))
    assert "« Refuser la demande » enregistré" in done
    payment.refresh_from_db()
    assert payment.get_state_display() == "Refusée"
