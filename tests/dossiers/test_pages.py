"""Building a grappe through the dossier form: what the porteur types is what the rules read."""

from __future__ import annotations

import pytest
from django.test import Client

from esms_numerique.dossiers.models import Dossier

from .conftest import GRAPPE_FINESS, OTHER_EJ

pytestmark = pytest.mark.django_db


def form(**overrides):
    data = {
        "title": "Grappe Rennes",
        "campaign": "2024",
        "segur_referenced": "on",
        "vat_regime": "HT",
        "operation": "acquisition",
        "essms": "\n".join(GRAPPE_FINESS[:15]),
        "solution_name": "DUI 5.2",
        "editor": "Éditeur synthétique",
        "hosting": "hds",
        "members": OTHER_EJ,
        "national_entity": GRAPPE_FINESS[0],
        "previous_fundings": f"{GRAPPE_FINESS[1]};feder;acquisition;2021",
    }
    data.update(overrides)
    return data


def test_the_form_carries_solution_members_national_entity_and_previous_fundings(users):
    client = Client()
    client.force_login(users["porteur"])
    response = client.post("/dossiers/nouveau/", form(), follow=True)
    assert response.status_code == 200
    dossier = Dossier.objects.get()
    assert dossier.grappe["solution"] == {
        "segur_referenced": True,
        "sad_referenced": False,
        "name": "DUI 5.2",
        "editor": "Éditeur synthétique",
        "hosting": "hds",
    }
    assert list(dossier.members.values_list("finess_ej", flat=True)) == [OTHER_EJ]
    findings = {(f["rule"], f["verdict"], f.get("finess_et")) for f in dossier.result["findings"]}
    assert ("E-NO-DOUBLE", "bloquant", GRAPPE_FINESS[1]) in findings
    pieces = next(f["message"] for f in dossier.result["findings"] if f["rule"] == "E-PIECES")
    assert "Autorisation de l'entité nationale" in pieces
    assert dossier.result["essms_count"] == 15
    # the member OG reads it
    member = Client()
    member.force_login(users["autre_porteur"])
    assert member.get(f"/dossiers/{dossier.reference}/").status_code == 200
    # editing shows what was typed
    edit = client.get(f"/dossiers/{dossier.reference}/modifier/").content.decode()
    assert f"{GRAPPE_FINESS[1]};feder;acquisition;2021" in edit
    assert 'value="DUI 5.2"' in edit


def test_form_errors_are_french_and_nothing_is_saved(users):
    client = Client()
    client.force_login(users["porteur"])
    response = client.post("/dossiers/nouveau/", form(members="350000015", previous_fundings="x;dotation;;"))
    page = response.content.decode()
    assert "FINESS EJ « 350000015 » invalide." in page
    assert "ligne 1 : programme « dotation » inconnu" in page
    assert not Dossier.objects.exists()


def test_saad_hours_from_the_annexe_1_table(users):
    client = Client()
    client.force_login(users["porteur"])
    table = f"{GRAPPE_FINESS[2]};1000;400;200;200;Conseil départemental"
    client.post("/dossiers/nouveau/", form(saad_table=table, members="", national_entity="", previous_fundings=""))
    dossier = Dossier.objects.get()
    entry = next(e for e in dossier.grappe["essms"] if e["finess_et"] == GRAPPE_FINESS[2])
    assert entry["saad_hours"]["medico_social"] == 800
    saad = next(f for f in dossier.result["findings"] if f["rule"] == "E-SAAD")
    assert "800 h sur 1000 h" in saad["message"]
    assert table in client.get(f"/dossiers/{dossier.reference}/modifier/").content.decode()


def test_instructors_revise_the_engaged_amount_from_the_page(users):
    from esms_numerique.dossiers.services import apply_transition, create_dossier

    from .conftest import attach_pieces, grappe, through_committee

    dossier = attach_pieces(users["porteur"], create_dossier(users["porteur"], "G", "2024", grappe()))
    dossier = apply_transition(users["porteur"], dossier, "deposer", dossier.version)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(users["ars"], dossier, name, dossier.version)
    dossier = through_committee(users["ars"], dossier)
    ars = Client()
    ars.force_login(users["ars"])
    assert "Réviser le montant engagé" in ars.get(f"/dossiers/{dossier.reference}/").content.decode()
    ars.post(
        f"/dossiers/{dossier.reference}/montant/",
        {"version": dossier.version, "amount_eur": 400000, "reason": "Enveloppe"},
    )
    dossier.refresh_from_db()
    assert dossier.engaged_eur == 400000
    porteur = Client()
    porteur.force_login(users["porteur"])
    porteur.post(
        f"/dossiers/{dossier.reference}/montant/", {"version": dossier.version, "amount_eur": 900000, "reason": "Plus"}
    )
    dossier.refresh_from_db()
    assert dossier.engaged_eur == 400000
