"""Envelopes (CNSA only, audited), the prioritisation grid (prefilled, saved, audited), the committee's proposal
from the dossiers and the ledger, and the committee page's envelope, engaged, proposed and remaining."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.dossiers import committees
from esms_numerique.rules.selection import Settings
from esms_numerique.selection import services
from esms_numerique.selection.models import Envelope, GridAssessment, Proposal
from tests.dossiers.conftest import through_committee

from .conftest import essms, instructed

pytestmark = pytest.mark.django_db

NOTES = {"motivation": 3, "perimetre": 2, "mutualisation": 0, "interoperabilite": 2, "plateforme_regionale": 1}


def test_cnsa_sets_an_envelope_with_its_reference_and_reason_audited(users, envelope):
    changed = services.set_envelope(
        users["national"], "2024", "53", 650_000, dt.date(2024, 6, 1), "Délégation complémentaire", "Crédits de juin."
    )
    assert services.envelope_in_force("2024", "53", dt.date(2024, 4, 10)) == envelope
    assert services.envelope_in_force("2024", "53", dt.date(2024, 9, 20)) == changed
    assert services.envelope_in_force("2024", "53", dt.date(2024, 1, 1)) is None
    entry = AuditEntry.objects.filter(action="set_envelope").order_by("-id").first()
    assert entry.actor == "cnsa"
    assert entry.before == {"montant": 500_000, "en vigueur le": "2024-01-15"}
    assert entry.after["montant"] == 650_000 and entry.reason == "Crédits de juin."
    assert verify_chain() == []


@pytest.mark.parametrize("who", ["ars", "porteur", "observateur", "admin", "sans_role"])
def test_only_cnsa_sets_an_envelope(users, who):
    with pytest.raises(PermissionDenied):
        services.set_envelope(users[who], "2024", "53", 1, dt.date(2024, 1, 15), "Réf.", "Motif.")
    client = Client()
    client.force_login(users[who])
    response = client.post(
        "/selection/enveloppes/",
        {
            "campaign": "2024",
            "region": "53",
            "amount_eur": 1,
            "effective_on": "2024-01-15",
            "reference": "R",
            "reason": "M",
        },
    )
    assert response.status_code == 403
    assert not Envelope.objects.exists()


def test_an_envelope_needs_its_reference_and_reason(users):
    with pytest.raises(services.SelectionError, match="référence"):
        services.set_envelope(users["national"], "2024", "53", 1, dt.date(2024, 1, 15), " ", "Motif.")
    with pytest.raises(services.SelectionError, match="Région inconnue"):
        services.set_envelope(users["national"], "2024", "99", 1, dt.date(2024, 1, 15), "Réf.", "Motif.")


def test_the_envelopes_page(users, envelope):
    client = Client()
    client.force_login(users["national"])
    page = client.get("/selection/enveloppes/").content.decode()
    assert 'data-region="53"' in page and "500\u202f000 €" in page and "Délégation CNSA 2024, annexe 1" in page
    response = client.post(
        "/selection/enveloppes/",
        {
            "campaign": "2024",
            "region": "",
            "amount_eur": 3_000_000,
            "effective_on": "2024-01-15",
            "reference": "Délégation nationale",
            "reason": "Projets multirégionaux.",
        },
    )
    assert response.status_code == 302
    assert services.envelope_in_force("2024", "", dt.date(2024, 6, 15)).amount_eur == 3_000_000


def test_the_grid_is_prefilled_saved_and_audited(users):
    dossier = instructed(users, "Grappe", essms(0, 6))
    facts = services.grid_facts(dossier)
    # The registry's ESSMS alternate EHPAD (PA) and IME (PH); one OG.
    assert (facts["essms"], facts["sectors"], facts["ogs"], facts["acquisitions"]) == (
        6,
        ["PA", "PH"],
        ["350000014"],
        6,
    )
    assert services.prefill(dossier)["mutualisation"]["note"] == 1  # one OG, two sectors
    client = Client()
    client.force_login(users["ars"])
    page = client.get(f"/dossiers/{dossier.reference}/grille/").content.decode()
    assert 'name="note_mutualisation"' in page and '<option value="1" selected>' in page
    assert "1 OG partagent la solution" in page
    body = {f"note_{code}": str(note) for code, note in NOTES.items()} | {
        "note_mutualisation": "1",
        "note_maturite": "3",
    }
    body["comment_maturite"] = "Calendrier d'opérationnalité précis."
    assert client.post(f"/dossiers/{dossier.reference}/grille/", body).status_code == 302
    grid = GridAssessment.objects.get(dossier=dossier)
    assert grid.points == 45 + 40 + 20 + 40 + 10 + 45 and grid.max_points == 300
    assert grid.comments == {"maturite": "Calendrier d'opérationnalité précis."}
    assert grid.updated_by == users["ars"]
    services.save_grid(users["ars"], dossier, {**NOTES, "mutualisation": 1, "maturite": 0}, {})
    grid.refresh_from_db()
    assert (grid.points, grid.version) == (155, 2)
    entry = AuditEntry.objects.filter(action="priority_grid").order_by("-id").first()
    assert entry.object_id == dossier.reference and entry.before["points"] == 200 and entry.after["points"] == 155


def test_the_grid_is_the_instructors_and_only_while_instructed(users):
    dossier = instructed(users, "Grappe", essms(0, 3))
    notes = {**NOTES, "mutualisation": 1, "maturite": 1}
    for who in ("national", "observateur", "porteur", "admin", "autre_ars"):
        with pytest.raises(PermissionDenied):
            services.save_grid(users[who], dossier, notes, {})
    with pytest.raises(services.SelectionError, match="hors échelle"):
        services.save_grid(users["ars"], dossier, {**notes, "maturite": 7}, {})
    through_committee(users["ars"], dossier)
    dossier.refresh_from_db()
    with pytest.raises(services.SelectionError, match="avant la décision"):
        services.save_grid(users["ars"], dossier, notes, {})
    assert not GridAssessment.objects.exists()


def test_the_proposal_reads_the_grids_the_envelope_and_the_ledger(users, april):
    ars = users["ars"]
    committee = april["committee"]
    committees.add_to_agenda(ars, committee, april["W"])  # on the agenda, not decided: still a candidate
    proposal = services.make_proposal(ars, committee, Settings())
    result = proposal.result
    ref = {name: april[name].reference for name in "XYZW"}
    assert result["envelope_eur"] == 500_000 and result["engaged_eur"] == 105_000 and result["available_eur"] == 395_000
    # Z and W claim the same ESSMS: one of them only; Z scores more.
    assert result["selected"] == sorted([ref["Y"], ref["Z"]])
    assert result["total_eur"] == 210_000 == proposal.total_eur
    w = next(row for row in result["dossiers"] if row["reference"] == ref["W"])
    assert w["selected"] is False and w["binding"] == ["exclusive"]
    assert f"Partage un ESSMS avec {ref['Z']}" in w["reasons"][0]
    assert AuditEntry.objects.filter(action="selection_proposal", object_id=str(committee.pk)).exists()
    # The committee page: envelope, already engaged, proposed (not yet decided), remaining; by territory and sector.
    client = Client()
    client.force_login(ars)
    page = client.get(f"/comites/{committee.pk}/").content.decode()
    for figure, amount in (("envelope", 500_000), ("engaged", 105_000), ("proposed", 210_000), ("remaining", 185_000)):
        assert f'<td data-figure="{figure}">{amount:,d} €</td>'.replace(",", "\u202f") in page, figure
    assert 'data-territory="35"' in page and 'data-sector="PA"' in page
    assert f"/comites/{committee.pk}/enveloppe-secteurs.svg" in page
    svg = client.get(f"/comites/{committee.pk}/enveloppe-territoires.svg")
    assert svg["Content-Type"].startswith("image/svg+xml") and "Proposé" in svg.content.decode()
    # Once the committee retains Y, it is engaged, no longer proposed.
    item = committees.add_to_agenda(ars, committee, april["Y"])
    committees.decide(ars, item, "retenu", "Score le plus élevé de la grille.")
    figures = services.committee_figures(committee)
    assert (figures.engaged_eur, figures.proposed_eur, figures.remaining_eur) == (210_000, 105_000, 185_000)


def test_no_proposal_without_an_envelope_nor_for_the_administrator(users):
    committee = committees.create_committee(users["ars"], "Comité", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    with pytest.raises(services.SelectionError, match="Aucune enveloppe"):
        services.make_proposal(users["ars"], committee, Settings())
    with pytest.raises(PermissionDenied):
        services.make_proposal(users["admin"], committee, Settings())
    assert not Proposal.objects.exists()


def test_the_proposal_page(users, april):
    client = Client()
    client.force_login(users["ars"])
    url = f"/comites/{april['committee'].pk}/proposition/"
    page = client.get(url).content.decode()
    assert "Aucune proposition calculée" in page and 'name="territory_tolerance"' in page
    assert f'data-reference="{april["Y"].reference}"' in page and "300 / 300" in page  # Y's grid, all notes at 3
    body = {"objective": "essms", "acquisition_bonus": 20, "territory_tolerance": 15, "territorial_balance": "on"}
    body |= {f"{bound}_{code}": value for code in services.SECTOR_LABELS for bound, value in (("min", 0), ("max", 100))}
    assert client.post(url, body).status_code == 302
    page = client.get(url).content.decode()
    assert "dossier(s) proposé(s)" in page and "optimum prouvé" in page and 'data-selected="non"' in page
    assert Proposal.objects.get().options["objective"] == "essms"


def test_the_grid_prefills_interoperability_from_measured_usage(users):
    """ESSMS already equipped and measured: the services socles they use propose the « interopérabilité » note."""
    from esms_numerique.indicators.models import UsageMeasurement

    # The measurements were brought by another dossier (the rows name their ESSMS, whatever the dossier's grappe).
    other = instructed(users, "Autre projet", essms(10, 2))
    for finess, (mss, dmp, people) in zip(essms(0, 2), ((0.4, 0.3, 80), (0.0, 0.0, 40)), strict=True):
        UsageMeasurement.objects.create(
            dossier=other,
            finess_et=finess,
            measurement_date=dt.date(2024, 2, 1),
            window_start=dt.date(2024, 1, 1),
            window_end=dt.date(2024, 1, 31),
            people_accompanied=people,
            active_dossiers=people,
            active_rate=1.0,
            pp_rate=1.0,
            agenda_rate=1.0,
            mss_rate=mss,
            dmp_rate=dmp,
            targets_met={},
            recorded_by=users["ars"],
        )
    dossier = instructed(users, "Mise à niveau", essms(0, 5), operation="upgrade")
    facts = services.grid_facts(dossier)
    assert (facts["measured_essms"], facts["people"], facts["services_socles"]) == (2, 120, ["DMP", "MSSanté"])
    proposed = services.prefill(dossier)["interoperabilite"]
    assert proposed["note"] == 3 and "120 personnes accompagnées" in proposed["why"]
    assert "D-SELECTION" in proposed["source"]
    # Nothing measured: no note proposed.
    assert "interoperabilite" not in services.prefill(instructed(users, "Neuf", essms(15, 2)))
