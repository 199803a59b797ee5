"""Every role × every dossier page and endpoint × its own and a foreign dossier: nothing leaks."""

from __future__ import annotations

import pytest
from django.test import Client

from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.registry.models import LegalEntity

from .conftest import OTHER_EJ, attach_pieces, grappe

pytestmark = pytest.mark.django_db

READ = {"detail": "/dossiers/{ref}/", "api": "/api/dossiers/{ref}"}
WRITE = {
    "edit": "/dossiers/{ref}/modifier/",
    "action": "/dossiers/{ref}/action/",
    "message": "/dossiers/{ref}/message/",
}

# Who sees the Bretagne dossier of the porteur (filed, regional, pivot 53)?
SEES = {
    "porteur": True,
    "autre_porteur": False,
    "ars": True,
    "autre_ars": False,
    "national": True,
    "observateur": True,
    "autre_observateur": False,
    "sans_role": False,
    "admin": True,
    "anonyme": False,
}
# Who may act on it (edit its grappe, take an action, write in its thread)?
ACTS = {"porteur", "ars"}


@pytest.fixture
def dossiers(users):
    own = create_dossier(users["porteur"], "Grappe Bretagne", "2024", grappe())
    own = attach_pieces(users["porteur"], own)
    own = apply_transition(users["porteur"], own, "deposer", own.version)
    return own


def client_for(users, who: str) -> Client:
    client = Client()
    if who != "anonyme":
        client.force_login(users[who])
    return client


@pytest.mark.parametrize("who", list(SEES))
def test_reading(users, dossiers, who):
    client = client_for(users, who)
    for name, url in READ.items():
        response = client.get(url.format(ref=dossiers.reference))
        if SEES[who]:
            assert response.status_code == 200, (who, name)
            assert dossiers.reference in response.content.decode()
        else:
            assert response.status_code in (302, 401, 404), (who, name, response.status_code)
            assert dossiers.reference not in response.content.decode()
    listing = client.get("/dossiers/")
    api_listing = client.get("/api/dossiers")
    export = client.get("/dossiers/export.csv")
    for response in (listing, api_listing, export):
        shown = dossiers.reference in response.content.decode("utf-8", errors="ignore")
        assert shown == SEES[who], (who, response.request["PATH_INFO"])


@pytest.mark.parametrize("who", list(SEES))
def test_writing(users, dossiers, who):
    client = client_for(users, who)
    version = dossiers.version
    reference = dossiers.reference
    client.post(
        WRITE["action"].format(ref=reference), {"transition": "declarer_recevable", "version": version, "comment": ""}
    )
    client.post(WRITE["message"].format(ref=reference), {"body": f"message de {who}"})
    dossiers.refresh_from_db()
    if who == "ars":
        assert dossiers.state == "recevable"
    else:
        assert dossiers.state == "depose", who
    wrote = dossiers.messages.filter(body=f"message de {who}").exists()
    assert wrote == (who in ACTS), who


def test_only_the_porteur_edits_a_draft_and_only_a_porteur_creates(users):
    draft = create_dossier(users["porteur"], "Brouillon", "2024", grappe())
    for who in ("ars", "national", "observateur", "admin"):
        # A draft does not exist for anyone but its OGs (issue 9: drafts were listed and read by ARS, CNSA…).
        assert client_for(users, who).get(f"/dossiers/{draft.reference}/modifier/").status_code == 404
        assert client_for(users, who).get("/dossiers/nouveau/").status_code == 403
    assert client_for(users, "autre_porteur").get(f"/dossiers/{draft.reference}/modifier/").status_code == 404
    assert client_for(users, "porteur").get(f"/dossiers/{draft.reference}/modifier/").status_code == 200


@pytest.mark.parametrize("who", list(SEES))
def test_a_draft_is_read_by_its_porteur_and_member_ogs_only(users, who):
    draft = create_dossier(users["porteur"], "Brouillon privé", "2024", grappe())
    draft.members.add(LegalEntity.objects.get(finess_ej=OTHER_EJ))
    client = client_for(users, who)
    readers = {"porteur", "autre_porteur"}  # the porteur, and the member OG
    for url in (f"/dossiers/{draft.reference}/", f"/api/dossiers/{draft.reference}"):
        response = client.get(url)
        assert (response.status_code == 200) == (who in readers), (who, url, response.status_code)
    for url in ("/dossiers/", "/api/dossiers", "/dossiers/export.csv"):
        listed = draft.reference in client.get(url).content.decode("utf-8", errors="ignore")
        assert listed == (who in readers), (who, url)


def test_a_member_og_reads_but_does_not_act(users):
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    dossier.members.add(LegalEntity.objects.get(finess_ej=OTHER_EJ))
    member = client_for(users, "autre_porteur")
    assert member.get(f"/dossiers/{dossier.reference}/").status_code == 200
    assert member.get(f"/dossiers/{dossier.reference}/modifier/").status_code == 403


def test_national_dossiers_are_acted_on_by_cnsa_not_by_the_pivot_ars(users):
    from esms_numerique.dossiers.access import allowed_transitions

    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    dossier.desk = "national"
    assert allowed_transitions(users["ars"], dossier) == []
    dossier.state = "depose"
    assert "declarer_recevable" in [t.name for t in allowed_transitions(users["national"], dossier)]


@pytest.mark.parametrize("who", list(SEES))
def test_pieces_are_served_only_to_those_who_see_the_dossier(users, dossiers, who):
    piece = dossiers.pieces.first()
    response = client_for(users, who).get(f"/dossiers/{dossiers.reference}/pieces/{piece.id}/")
    if SEES[who]:
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
    else:
        assert response.status_code in (302, 404)


def test_pieces_are_not_under_the_web_root(users, dossiers, settings):
    piece = dossiers.pieces.first()
    assert str(settings.PIECES_ROOT) in piece.file.path
    assert not piece.file.path.startswith(str(settings.STATIC_ROOT))
    assert Client().get("/media/" + piece.file.name).status_code == 404


def test_role_changes_in_the_admin_are_audited(users):
    from esms_numerique.accounts.models import Profile
    from esms_numerique.audit.models import AuditEntry

    admin = Client()
    admin.force_login(users["admin"])
    profile = Profile.objects.get(user=users["observateur"])
    response = admin.post(
        f"/admin/accounts/profile/{profile.pk}/change/",
        {"user": users["observateur"].pk, "role": "instructeur_ars", "region": "53", "legal_entity": ""},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="change_role")
    assert (entry.object_id, entry.before["rôle"], entry.after["rôle"]) == (
        "grades_bretagne",
        "observateur",
        "instructeur_ars",
    )
    assert admin.post(f"/admin/dossiers/dossier/{Profile.objects.count()}/change/", {}).status_code in (403, 404)


def test_transitions_through_the_api(users, dossiers):
    url = f"/api/dossiers/{dossiers.reference}/transitions"
    body = {"transition": "declarer_recevable", "version": dossiers.version}
    for who, status in (("anonyme", 401), ("autre_ars", 404), ("observateur", 403), ("porteur", 403)):
        assert client_for(users, who).post(url, body, content_type="application/json").status_code == status, who
    stale = client_for(users, "ars").post(
        url, {**body, "version": dossiers.version - 1}, content_type="application/json"
    )
    assert stale.status_code == 409
    assert "modifié par quelqu'un d'autre" in stale.json()["detail"]
    done = client_for(users, "ars").post(url, body, content_type="application/json")
    assert (done.status_code, done.json()["state"]) == (200, "recevable")
    again = client_for(users, "ars").post(
        url, {**body, "version": done.json()["version"]}, content_type="application/json"
    )
    assert again.status_code == 400
    assert "impossible quand le dossier est « Recevable »" in again.json()["detail"]


def test_xlsx_export_lists_what_the_user_sees(users, dossiers):
    import io

    from openpyxl import load_workbook

    response = client_for(users, "ars").get("/dossiers/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("Référence", "Intitulé", "Campagne")
    assert [r[0] for r in rows[1:]] == [dossiers.reference]
    assert rows[1][9] == 420000
    empty = load_workbook(io.BytesIO(client_for(users, "autre_ars").get("/dossiers/export.xlsx").content)).active
    assert len(list(empty.values)) == 1
    assert client_for(users, "ars").get("/dossiers/export.pdf").status_code == 404
