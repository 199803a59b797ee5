"""A porteur's system files a dossier through the API; the instructors fire its transitions through the API."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from esms_numerique.dossiers.models import Dossier, Message

from .conftest import BZH, IDF, OG_BZH, OG_IDF, PDF, grappe, pieces_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def campaign_2024(settings):
    settings.ESMS_TODAY = "2024-03-11"


def new_dossier(api, og=OG_BZH, numbers=BZH[0:3]) -> dict:
    body = {"title": "Grappe Bretagne", "campaign": "2024", "grappe": grappe(og, numbers)}
    response = api.post("/api/dossiers", body)
    assert response.status_code == 201, response.content
    return response.json()


def join_pieces(api, reference: str) -> None:
    for code in pieces_of():
        pdf = SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf")
        response = api.upload(f"/api/dossiers/{reference}/pieces", code=code, file=pdf)
        assert response.status_code == 201, response.content


def fire(api, reference: str, transition: str, **inputs):
    version = Dossier.objects.get(reference=reference).version
    return api.post(f"/api/dossiers/{reference}/transitions", {"transition": transition, "version": version, **inputs})


def test_a_porteur_files_and_the_instructor_fires_transitions_through_the_api(world, as_role):
    porteur, ars = as_role("porteur"), as_role("ars")
    dossier = new_dossier(porteur)
    reference = dossier["reference"]
    assert dossier["state"] == "brouillon"
    assert sorted(e["finess_et"] for e in dossier["essms"]) == BZH[0:3]  # the grappe's ESSMS, from the ledger
    assert dossier["grappe"]["essms"] == [{"finess_et": n} for n in BZH[0:3]]

    put = porteur.post(
        f"/api/dossiers/{reference}/grappe", {"version": dossier["version"], "grappe": grappe(OG_BZH, BZH[0:4])}
    )
    assert put.status_code == 200, put.content
    assert sorted(e["finess_et"] for e in put.json()["essms"]) == BZH[0:4]
    # The version read before that change is stale: 409 from every route that takes one, nothing written.
    stale = porteur.post(
        f"/api/dossiers/{reference}/grappe", {"version": dossier["version"], "grappe": grappe(OG_BZH, BZH[0:2])}
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "conflit_de_version")
    late = porteur.post(f"/api/dossiers/{reference}/transitions", {"transition": "deposer", "version": 0})
    assert (late.status_code, late.json()["code"]) == (409, "conflit_de_version")
    assert "modifié par quelqu'un d'autre" in late.json()["detail"]
    assert Dossier.objects.get(reference=reference).state == "brouillon"
    assert len(Dossier.objects.get(reference=reference).grappe["essms"]) == 4

    refused = fire(porteur, reference, "deposer")
    assert refused.status_code == 400
    assert refused.json()["code"] == "refus_regle"
    join_pieces(porteur, reference)
    filed = fire(porteur, reference, "deposer")
    assert filed.status_code == 200, filed.content
    assert filed.json()["state"] == "depose"

    assert fire(ars, reference, "declarer_recevable").json()["state"] == "recevable"
    assert fire(ars, reference, "instruire").json()["state"] == "en_instruction"
    no_comment = fire(ars, reference, "demander_complement")
    assert no_comment.status_code == 400
    assert "commentaire" in no_comment.json()["detail"]
    asked = fire(ars, reference, "demander_complement", comment="Joignez le devis signé.")
    assert asked.json()["state"] == "complement_demande"

    message = porteur.post(f"/api/dossiers/{reference}/messages", {"body": "Le devis signé est joint."})
    assert message.status_code == 201, message.content
    note = ars.post(f"/api/dossiers/{reference}/messages", {"body": "À surveiller.", "private": True})
    assert note.status_code == 201
    assert porteur.post(f"/api/dossiers/{reference}/messages", {"body": "x", "private": True}).status_code == 403
    seen_by_porteur = [m["body"] for m in porteur.get(f"/api/dossiers/{reference}/messages").json()["items"]]
    assert "À surveiller." not in seen_by_porteur
    assert "Le devis signé est joint." in seen_by_porteur
    assert "À surveiller." in [m["body"] for m in ars.get(f"/api/dossiers/{reference}/messages").json()["items"]]

    completed = fire(porteur, reference, "completer")
    assert completed.status_code == 200, completed.content
    assert completed.json()["state"] == "complete"
    assert Dossier.objects.get(reference=reference).state == "complete"
    assert Message.objects.filter(dossier__reference=reference, private=True).count() == 1
    detail = ars.get(f"/api/dossiers/{reference}").json()
    assert "declarer_recevable" in [t["name"] for t in detail["transitions"]]

    listed = ars.get("/api/dossiers", state="complete", pivot_region="53").json()
    assert [d["reference"] for d in listed["items"]] == [reference]


def test_dossiers_are_refused_to_whoever_may_not_act_on_them(world, as_role):
    porteur = as_role("porteur")
    reference = new_dossier(porteur)["reference"]
    url = f"/api/dossiers/{reference}"
    assert as_role("ars").get(url).status_code == 404  # a draft: its porteur only
    join_pieces(porteur, reference)
    assert fire(porteur, reference, "deposer").status_code == 200
    for role in ("autre_porteur", "autre_ars", "editeur", "sans_role"):
        assert as_role(role).get(url).status_code == 404, role
        unknown = fire(as_role(role), reference, "declarer_recevable")
        assert (unknown.status_code, unknown.json()["code"], unknown.json()["detail"]) == (
            404,
            "introuvable",
            "Dossier introuvable",
        ), role
    assert as_role("national").get(url).status_code == 200  # reads every filed dossier
    forbidden = fire(as_role("national"), reference, "declarer_recevable")  # a regional dossier: the ARS instructs
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "interdit")
    assert forbidden.json()["detail"]  # the service's reason, in French
    assert fire(porteur, reference, "declarer_recevable").status_code == 403
    piece = SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")
    assert as_role("autre_porteur").upload(f"{url}/pieces", code=pieces_of()[0], file=piece).status_code == 404
    foreign = new_dossier(as_role("autre_porteur"), OG_IDF, IDF[0:2])
    assert porteur.get(f"/api/dossiers/{foreign['reference']}").status_code == 404
    assert as_role("editeur").post("/api/dossiers", {"title": "x", "campaign": "2024", "grappe": {}}).status_code == 403
    assert Dossier.objects.get(reference=reference).state == "depose"


def test_a_piece_larger_than_the_json_limit_goes_through_the_api_as_through_the_page(world, as_role, settings):
    """A file sent to the API (multipart) has the page's limit (10 Mo and the form's fields), not the 2 Mo of JSON
    (D-LIMITS); beyond it, 413 before it is read."""
    porteur = as_role("porteur")
    reference = new_dossier(porteur)["reference"]
    code = pieces_of()[0]
    large = PDF + b"%" * (3 * 1024 * 1024)
    assert len(large) > settings.API_MAX_BODY_BYTES
    sent = porteur.upload(
        f"/api/dossiers/{reference}/pieces", code=code, file=SimpleUploadedFile("devis.pdf", large, "application/pdf")
    )
    assert sent.status_code == 201, sent.content
    assert Dossier.objects.get(reference=reference).pieces.get(code=code).size == len(large)
    settings.API_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    refused = porteur.upload(
        f"/api/dossiers/{reference}/pieces", code=code, file=SimpleUploadedFile("devis.pdf", large, "application/pdf")
    )
    assert (refused.status_code, refused.json()["code"]) == (413, "trop_volumineux")
    # Any other route reads its body as JSON whatever its content type says: the JSON limit, multipart or not.
    settings.API_MAX_UPLOAD_BYTES = 11 * 1024 * 1024
    body = json.dumps({"title": "x" * (3 * 1024 * 1024), "campaign": "2024", "grappe": grappe(OG_BZH, BZH[0:3])})
    for content_type in ("application/json", "multipart/form-data; boundary=zz"):
        large = porteur.client.post("/api/dossiers", body, content_type=content_type, headers=porteur.headers)
        assert (large.status_code, large.json()["code"]) == (413, "trop_volumineux"), content_type
