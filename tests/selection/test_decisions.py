"""The committee departs from the proposal with a reason (P-OVERRIDE), and each decision records the proposal it
followed or the override that explains it, audited (DECISION D-SELECTION-DECISIONS)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.dossiers import committees
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import DossierError
from esms_numerique.rules.selection import Settings
from esms_numerique.selection import services
from esms_numerique.selection.models import DecisionLink, Override

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposed(users, april):
    """April's proposal: Y and Z (210 000 €); W shares ESSMS with Z and is left out."""
    april["proposal"] = services.make_proposal(users["ars"], april["committee"], Settings())
    ref = {name: april[name].reference for name in "YZW"}
    assert april["proposal"].selected == sorted([ref["Y"], ref["Z"]])
    return april


def test_an_override_is_reasoned_audited_and_moves_the_envelope_figures(users, proposed):
    ars, proposal, committee = users["ars"], proposed["proposal"], proposed["committee"]
    z, w = proposed["Z"], proposed["W"]
    with pytest.raises(services.SelectionError, match="motivé"):
        services.set_override(ars, proposal, z, False, "  ")
    with pytest.raises(services.SelectionError, match="déjà proposé"):
        services.set_override(ars, proposal, proposed["Y"], True, "Déjà dedans.")
    with pytest.raises(services.SelectionError, match="pas candidat"):
        services.set_override(ars, proposal, proposed["X"], True, "Déjà retenu en mars.")
    for who in ("porteur", "national", "autre_ars", "observateur"):
        with pytest.raises(PermissionDenied):
            services.set_override(users[who], proposal, z, False, "Motif.")
    services.set_override(ars, proposal, z, False, "Le porteur de Z n'a pas confirmé son éditeur.")
    services.set_override(ars, proposal, w, True, "W couvre les mêmes ESSMS avec un éditeur confirmé.")
    assert services.effective_selection(proposal) == {proposed["Y"].reference, w.reference}
    figures = services.committee_figures(committee)
    assert (figures.proposed_eur, figures.remaining_eur) == (210_000, 185_000)  # Y and W, 5 ESSMS each
    entry = AuditEntry.objects.filter(action="selection_override").order_by("-id").first()
    assert entry.after == {"proposition": proposal.pk, "dossier": w.reference, "écart": "ajouté"}
    assert entry.reason == "W couvre les mêmes ESSMS avec un éditeur confirmé."
    # Asking for what the optimiser proposed cancels the override.
    assert services.set_override(ars, proposal, z, True, "Éditeur confirmé finalement.") is None
    assert set(Override.objects.values_list("dossier__reference", flat=True)) == {w.reference}
    assert verify_chain() == []


def test_each_decision_records_the_proposal_it_followed_or_its_override(users, proposed):
    ars, proposal, committee = users["ars"], proposed["proposal"], proposed["committee"]
    y, z, w = (proposed[name] for name in "YZW")
    services.set_override(ars, proposal, z, False, "Le porteur de Z n'a pas confirmé son éditeur.")
    items = {name: committees.add_to_agenda(ars, committee, proposed[name]) for name in "YZW"}
    committees.decide(ars, items["Y"], "retenu", "Meilleur score de la grille.")
    committees.decide(ars, items["Z"], "non_retenu", "Éditeur non confirmé.")
    # W was left out by the optimiser: retaining it departs from the proposal and needs the reason of the departure.
    with pytest.raises(DossierError, match="motivez l'écart"):
        committees.decide(ars, items["W"], "retenu", "Éditeur confirmé.")
    w.refresh_from_db()
    assert w.state == State.PRESENTE_COMITE and not DecisionLink.objects.filter(item=items["W"]).exists()
    committees.decide(ars, items["W"], "retenu", "Éditeur confirmé.", "Remplace Z, mêmes ESSMS.")
    links = {link.item.dossier.reference: link for link in DecisionLink.objects.select_related("item__dossier")}
    assert (links[y.reference].proposal, links[y.reference].proposed, links[y.reference].followed) == (
        proposal,
        True,
        True,
    )
    assert links[y.reference].override is None
    assert (links[z.reference].proposed, links[z.reference].followed) == (True, False)
    assert links[z.reference].override.reason == "Le porteur de Z n'a pas confirmé son éditeur."
    assert (links[w.reference].proposed, links[w.reference].followed) == (False, False)
    assert links[w.reference].override.include and links[w.reference].override.reason == "Remplace Z, mêmes ESSMS."
    entry = AuditEntry.objects.filter(action="committee_decision", object_id=w.reference).get()
    assert entry.after["proposition"] == proposal.pk and entry.after["conforme à la proposition"] is False
    assert entry.after["écart motivé"] == "Remplace Z, mêmes ESSMS."
    # Everything decided: nothing proposed is left, the envelope counts what was retained (X, Y, W).
    figures = services.committee_figures(committee)
    assert (figures.engaged_eur, figures.proposed_eur, figures.remaining_eur) == (315_000, 0, 185_000)


def test_a_decision_without_a_proposal_records_none(users, april):
    item = committees.add_to_agenda(users["ars"], april["committee"], april["W"])
    committees.decide(users["ars"], item, "retenu", "Retenu.")
    link = DecisionLink.objects.get(item=item)
    assert (link.proposal, link.proposed, link.followed, link.override) == (None, None, None, None)


def test_the_pages_override_then_decide(users, proposed):
    client = Client()
    client.force_login(users["ars"])
    committee, w = proposed["committee"], proposed["W"]
    url = f"/comites/{committee.pk}/proposition/"
    page = client.get(url).content.decode()
    assert f'data-override-form="{w.reference}"' in page and "Ajouter à la proposition" in page
    response = client.post(url, {"reference": w.reference, "include": "1", "reason": "Éditeur confirmé."})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "ajouté par le comité" in page and "Éditeur confirmé." in page
    item = committees.add_to_agenda(users["ars"], committee, w)
    detail = client.get(f"/comites/{committee.pk}/").content.decode()
    assert 'name="override_reason"' in detail and "aucune proposition" not in detail
    client.post(
        f"/comites/{committee.pk}/decision/{item.pk}/",
        {"decision": "retenu", "reason": "Éditeur confirmé."},
    )
    link = DecisionLink.objects.get(item=item)
    assert (link.proposed, link.followed, link.override.reason) == (False, False, "Éditeur confirmé.")
    detail = client.get(f"/comites/{committee.pk}/").content.decode()
    assert 'data-followed="non"' in detail and "écart motivé : Éditeur confirmé." in detail
    other = Client()
    other.force_login(users["porteur"])
    assert other.post(url, {"reference": w.reference, "include": "0", "reason": "x"}).status_code in (403, 404)
