"""The documents of a decision: the notification letter and the convention to sign, read as text and as pages, and
served as PDF to those who see the dossier (D-DECISION-DOCUMENTS)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esms_numerique.dossiers.decision_documents import (
    NoDocument,
    convention,
    funded_rows,
    notification_letter,
)
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.rules.money import format_eur
from tests.pdfs import needs_poppler, pdf_text, rendered_pages

from .conftest import GRAPPE_FINESS, PORTEUR_EJ, attach_pieces, grappe, through_committee

pytestmark = pytest.mark.django_db


def shown(amount: int) -> str:
    """An amount as the PDF text reads it: the standard fonts have no narrow no-break space (documents/pdf.py)."""
    return format_eur(amount).replace("\u202f", " ")


def step(user, dossier, name: str, comment: str = "", **data):
    return apply_transition(user, dossier, name, dossier.version, comment, data)


def instructed(users, count: int = 20):
    porteur, ars = users["porteur"], users["ars"]
    LegalEntity.objects.filter(finess_ej=PORTEUR_EJ).update(
        name="ASSOCIATION LES GENETS",
        street_number="12",
        street_type="RUE",
        street="DES LILAS",
        postal_line="35000 RENNES",
    )
    Establishment.objects.filter(finess_et=GRAPPE_FINESS[0]).update(name="EHPAD LES GENETS")
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe DUI Ille-et-Vilaine", "2024", grappe(count)))
    dossier = step(porteur, dossier, "deposer")
    for name in ("declarer_recevable", "instruire"):
        dossier = step(ars, dossier, name)
    return dossier


@pytest.fixture
def retained(users):
    return through_committee(users["ars"], instructed(users), "retenu", "Projet mutualisé, interopérabilité MSSanté.")


def test_the_letter_of_a_retained_dossier_gives_the_amounts_by_rule_and_the_appeal(retained):
    text = pdf_text(notification_letter(retained))
    assert "a été retenue par le comité « Comité d'avril » du 10/04/2024" in text
    assert "Projet mutualisé, interopérabilité MSSanté." in text
    assert "F-USAGE" in text and "F-SOFTWARE" in text and "F-PAY" in text
    assert f"subvention unique et forfaitaire de {shown(420000)}" in text
    assert f"Montant engagé {shown(420000)}" in text
    assert f"F-USAGE {GRAPPE_FINESS[0]} 1 Usages — acquisition {shown(7000)}" in text
    assert "AAP24 3.3.2" in text  # the source of each rule
    assert f"50 % sous forme d'avance, soit {shown(210000)}" in text
    assert "ASSOCIATION LES GENETS" in text and f"FINESS EJ {PORTEUR_EJ}" in text
    assert "Le directeur général de l'agence régionale de santé Bretagne" in text
    assert "AGENCE RÉGIONALE DE SANTÉ BRETAGNE" in text
    assert "dans un délai de deux mois à compter de sa notification" in text
    assert "tribunal administratif" in text and "R. 421-1 du code de justice administrative" in text
    assert "D-DECISION-DOCUMENTS" in text


def test_a_not_retained_letter_carries_the_reason_and_no_amount(users):
    dossier = through_committee(users["ars"], instructed(users), "non_retenu", "Enveloppe régionale épuisée.")
    text = pdf_text(notification_letter(dossier))
    assert "n'a pas été retenue par le comité" in text
    assert "Motif de la décision : Enveloppe régionale épuisée." in text
    assert "€" not in text and "F-USAGE" not in text
    assert "deux mois" in text and "tribunal administratif" in text
    with pytest.raises(NoDocument):
        convention(dossier)


def test_a_not_admissible_letter(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = step(porteur, attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(3))), "deposer")
    with pytest.raises(NoDocument):
        notification_letter(dossier)  # nothing decided yet
    dossier = step(ars, dossier, "declarer_non_recevable", "Pièces incomplètes après relance.")
    text = pdf_text(notification_letter(dossier))
    assert "n'est pas recevable" in text and "Pièces incomplètes après relance." in text


@pytest.mark.skipif("classe_sans_suite" not in State.values, reason="pas d'état « classé sans suite »")
def test_a_dossier_filed_without_follow_up_after_retention_has_that_letter_and_no_convention(users, retained):
    dossier = step(users["ars"], retained, "classer_sans_suite", "Le porteur ne répond plus depuis six mois.")
    text = pdf_text(notification_letter(dossier))
    assert "est classée sans suite" in text and "Le porteur ne répond plus depuis six mois." in text
    assert "F-USAGE" not in text and "tribunal administratif" in text
    with pytest.raises(NoDocument):
        convention(dossier)


@pytest.mark.skipif("desiste" not in State.values, reason="pas d'état « désistement »")
def test_a_withdrawal_is_acknowledged_without_appeal(users):
    dossier = instructed(users, 3)
    dossier = step(users["porteur"], dossier, "desister", "Le projet est repris par le GHT.")
    text = pdf_text(notification_letter(dossier))
    assert "fait l'objet de votre désistement, dont nous prenons acte" in text
    assert "Motif indiqué par le porteur : Le projet est repris par le GHT." in text
    assert "tribunal administratif" not in text


def test_a_national_dossier_is_signed_for_the_cnsa_and_the_dns(retained):
    retained.desk = "national"
    text = pdf_text(notification_letter(retained))
    assert "Pour la CNSA et la DNS, le directeur de la Caisse nationale de solidarité pour l'autonomie" in text
    assert "agence régionale" not in text
    text = pdf_text(convention(retained))
    assert "pas de durée indicative de déploiement" in text


def test_the_convention_has_the_parties_the_essms_the_payment_the_targets_and_the_deadline(users, retained):
    ars = users["ars"]
    dossier = step(ars, retained, "engager", engagement_reference="2100456789")
    before_signature = pdf_text(convention(dossier))
    assert "le déploiement s'achève 18 mois après la signature de la présente convention" in before_signature
    dossier = step(ars, dossier, "signer_convention", date=dt.date(2024, 5, 15))
    text = pdf_text(convention(dossier))
    assert "L'agence régionale de santé Bretagne, représentée par son directeur général" in text
    assert "ASSOCIATION LES GENETS" in text and PORTEUR_EJ in text and "12 RUE DES LILAS — 35000 RENNES" in text
    assert "« Grappe DUI Ille-et-Vilaine »" in text and dossier.reference in text
    assert "ESMS numérique — phase de généralisation 2024" in text
    assert all(finess in text for finess in GRAPPE_FINESS)
    assert f"{GRAPPE_FINESS[0]} EHPAD LES GENETS Acquisition 1 {shown(21000)}" in text
    assert "20 ESSMS financés" in text
    assert f"Montant engagé {shown(420000)}" in text and "F-USAGE" in text and "F-SOFTWARE" in text
    assert "Référence de l'engagement (Chorus) : 2100456789" in text
    assert f"50 % sous forme d'avance, soit {shown(210000)}, lors de la signature de la convention" in text
    assert "état récapitulatif des dépenses visé par le comptable public" in text
    assert "U-MSS" in text and "au moins 70 %" in text and "U-AGENDA" in text and "au moins 90 %" in text
    assert "Fin de déploiement indicative : 15/11/2025, 18 mois après la signature" in text
    assert "Le directeur général de l'agence régionale de santé Bretagne" in text
    assert "Pour ASSOCIATION LES GENETS, son représentant légal" in text
    dossier.deadline_extended_to = dt.date(2026, 3, 31)
    assert "La fin du déploiement est fixée au 31/03/2026 (délai prolongé)" in pdf_text(convention(dossier))


def test_the_essms_and_their_registry_names_are_read_in_one_query(retained, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = funded_rows(retained)
    assert [r.finess_et for r in rows][:1] == [GRAPPE_FINESS[0]]
    assert rows[0].registry_name == "EHPAD LES GENETS" and len(rows) == 20


def test_a_2022_convention_follows_the_2022_texts(users, settings):
    settings.ESMS_TODAY = "2022-05-02"
    porteur, ars = users["porteur"], users["ars"]
    dossier = step(porteur, create_dossier(porteur, "Grappe 2022", "2022", grappe(20)), "deposer")
    for name in ("declarer_recevable", "instruire"):
        dossier = step(ars, dossier, name)
    dossier = through_committee(ars, dossier)
    text = pdf_text(convention(dossier))
    assert "à la signature de la convention avec le porteur et à la signature de la convention de partenariat" in text
    assert "après la signature de la vérification de service régulier" in text
    assert "sur le mois écoulé, mesuré à chaque fin de mois" in text
    assert "HDF22" in text and "au moins 70 %" in text


@needs_poppler
def test_the_documents_render_as_pages(retained, tmp_path):
    for name, build in (("lettre", notification_letter), ("convention", convention)):
        (tmp_path / name).mkdir()
        pages = rendered_pages(build(retained), tmp_path / name)
        assert 1 <= len(pages) <= 6 and all(page.stat().st_size > 0 for page in pages), name


def test_the_pdfs_are_served_to_whoever_sees_the_dossier(users, retained):
    urls = [f"/dossiers/{retained.reference}/notification/", f"/dossiers/{retained.reference}/convention.pdf"]
    for who in ("porteur", "ars", "observateur"):
        client = Client()
        client.force_login(users[who])
        for url in urls:
            response = client.get(url)
            assert (response.status_code, response["Content-Type"]) == (200, "application/pdf"), (who, url)
            assert response.content.startswith(b"%PDF-")
        page = client.get(f"/dossiers/{retained.reference}/").content.decode()
        assert 'id="convention-link"' in page and 'id="notification-link"' in page
    for who in ("autre_porteur", "autre_ars"):
        outsider = Client()
        outsider.force_login(users[who])
        assert all(outsider.get(url).status_code == 404 for url in urls), who


def test_no_convention_before_a_retained_decision(users):
    dossier = instructed(users, 3)
    client = Client()
    client.force_login(users["porteur"])
    assert client.get(f"/dossiers/{dossier.reference}/convention.pdf").status_code == 404
    assert client.get(f"/dossiers/{dossier.reference}/notification/").status_code == 404
    assert 'id="convention-link"' not in client.get(f"/dossiers/{dossier.reference}/").content.decode()
