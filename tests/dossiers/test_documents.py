"""AAP24 documents of a dossier: Annexe 1 (SAAD hours) and Annexe 2 (pieces), checked as text and pages."""

from __future__ import annotations

import pytest

from esms_numerique.dossiers.documents import pieces_list, saad_declaration
from esms_numerique.dossiers.services import create_dossier
from tests.pdfs import needs_poppler, pdf_text, rendered_pages

from .conftest import GRAPPE_FINESS, attach_pieces, grappe

pytestmark = pytest.mark.django_db


@needs_poppler
def test_saad_declaration_and_pieces_list(users, settings, tmp_path):
    settings.ESMS_TODAY = "2024-03-11"
    data = grappe(3)
    data["essms"][0]["saad_hours"] = {
        "total": 1000,
        "apa": 400,
        "pch": 200,
        "other": 200,
        "medico_social": 800,
        "other_funder": "Conseil départemental",
    }
    dossier = create_dossier(users["porteur"], "Grappe SAAD", "2024", data)
    document = saad_declaration(dossier)
    assert len(rendered_pages(document, tmp_path)) == 1
    annexe1 = pdf_text(document)
    assert GRAPPE_FINESS[0] in annexe1 and "80 %" in annexe1 and "20 %" in annexe1
    assert "Conseil départemental" in annexe1
    dossier = attach_pieces(users["porteur"], dossier, ["gouvernance"])
    annexe2 = pdf_text(pieces_list(dossier))
    assert "Gouvernance du projet oui gouvernance.pdf" in annexe2
    assert "Note de présentation générale du projet non" in annexe2
    assert "Déclaration des heures dédiées" in annexe2


def test_dossier_documents_are_served_to_those_who_see_it(users, settings):
    from django.test import Client

    settings.ESMS_TODAY = "2024-03-11"
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe(2))
    own, other = Client(), Client()
    own.force_login(users["porteur"])
    other.force_login(users["autre_porteur"])
    for document in ("annexe-1", "annexe-2"):
        response = own.get(f"/dossiers/{dossier.reference}/{document}.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF-")
        assert other.get(f"/dossiers/{dossier.reference}/{document}.pdf").status_code == 404
    assert own.get(f"/dossiers/{dossier.reference}/annexe-9.pdf").status_code == 404
