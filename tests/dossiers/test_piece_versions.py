"""Issue 10, part 2: documents after filing — a piece is replaced (its previous version kept), removed (softly, its
file kept), frozen once filed but reopened by a complement request, and the post-decision pieces (signed
convention, hardware proofs, usage proofs, expenses statement) open at the states their parameters name; the page
shows the expected pieces as a checklist (DECISION D-PIECE-VERSIONS)."""

from __future__ import annotations

import re
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, connection
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier, Piece
from esms_numerique.dossiers.pieces import (
    AFTER_DECISION_PATH,
    after_decision_types,
    change_refusal,
    piece_types,
)
from esms_numerique.dossiers.services import (
    DossierError,
    add_piece,
    apply_transition,
    create_dossier,
    remove_piece,
    replace_piece,
)

from .conftest import PDF, STANDARD_PIECES, attach_pieces, grappe, paid_through_request, through_committee

pytestmark = pytest.mark.django_db

FIRST, LAST = STANDARD_PIECES[0], STANDARD_PIECES[-1]


def upload(name: str = "piece.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def draft(users, codes=STANDARD_PIECES) -> Dossier:
    porteur = users["porteur"]
    return attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(4)), codes)


def filed(users) -> Dossier:
    dossier = draft(users)
    return apply_transition(users["porteur"], dossier, "deposer", dossier.version)


def retained(users) -> Dossier:
    ars = users["ars"]
    dossier = filed(users)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    return through_committee(ars, dossier)


def current(dossier: Dossier, code: str) -> Piece:
    return dossier.pieces.get(code=code)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user, dossier: Dossier) -> str:
    response = client_for(user).get(f"/dossiers/{dossier.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def checklist_of(html: str) -> dict[str, str]:
    """code → « oui » / « non » for each item of the page's checklist."""
    block = re.search(r'<ul[^>]*id="pieces-checklist"[^>]*>(.*?)</ul>', html, re.S)
    assert block, "pas de liste des pièces attendues"
    return dict(re.findall(r'<li data-code="([^"]+)" data-ticked="(oui|non)"', block.group(1)))


def downloaded(user, dossier: Dossier, piece: Piece) -> bytes:
    response = client_for(user).get(f"/dossiers/{dossier.reference}/pieces/{piece.id}/")
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


# ---------------------------------------------------------------------------------------------------------------
# Versions and removal.


def test_replacing_keeps_the_previous_version_downloadable(users):
    porteur = users["porteur"]
    dossier = draft(users)
    old = current(dossier, FIRST)
    new = replace_piece(porteur, dossier, old, upload("note-v2.pdf", PDF + b"% v2\n"))

    assert Piece.versions.filter(dossier=dossier, code=FIRST).count() == 2
    assert current(dossier, FIRST) == new
    assert new.replaces == old
    assert old.replaced_by == new
    assert old.removed_at is None and old.file.storage.exists(old.file.name)
    assert dossier.pieces.count() == len(STANDARD_PIECES)  # the old version no longer counts
    entry = AuditEntry.objects.filter(action="replace_piece", object_id=dossier.reference).get()
    assert (entry.before["sha256"], entry.after["sha256"]) == (old.sha256, new.sha256)

    html = page(porteur, dossier)
    row = re.search(rf'<li data-code="{FIRST}" data-piece="{new.id}">(.*?)</li>', html, re.S).group(1)
    assert "note-v2.pdf" in row and "Versions précédentes (1)" in row
    assert f'data-version="{old.id}"' in row

    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    for who in ("porteur", "ars", "observateur", "national"):
        assert downloaded(users[who], dossier, old) == PDF
        assert downloaded(users[who], dossier, new) == PDF + b"% v2\n"
    response = client_for(users["autre_porteur"]).get(f"/dossiers/{dossier.reference}/pieces/{old.id}/")
    assert response.status_code == 404


def test_a_replaced_or_removed_piece_cannot_be_changed_again(users):
    porteur = users["porteur"]
    dossier = draft(users)
    old = current(dossier, FIRST)
    replace_piece(porteur, dossier, old, upload())
    with pytest.raises(DossierError, match="déjà été remplacée ou retirée"):
        replace_piece(porteur, dossier, old, upload())
    with pytest.raises(DossierError, match="déjà été remplacée ou retirée"):
        remove_piece(porteur, dossier, old)
    assert Piece.versions.filter(dossier=dossier, code=FIRST).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_replacements_of_the_same_piece_at_once_make_one_version(users):
    """The dossier's and the piece's rows are locked while the piece is checked and replaced (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL (CI)")
    porteur = users["porteur"]
    dossier = draft(users)
    old = current(dossier, FIRST)
    barrier = threading.Barrier(2)
    outcomes = []

    def replace(n):
        try:
            barrier.wait()
            replace_piece(porteur, dossier, old, upload(f"v{n}.pdf"))
            outcomes.append("remplacée")
        except DossierError as error:
            outcomes.append(str(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=replace, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[1] == "remplacée", outcomes
    assert "déjà été remplacée ou retirée" in sorted(outcomes)[0]
    assert Piece.versions.filter(dossier=dossier, code=FIRST).count() == 2


def test_removal_is_soft_and_a_required_piece_removed_blocks_filing(users):
    porteur = users["porteur"]
    dossier = draft(users)
    piece = current(dossier, LAST)
    removed = remove_piece(porteur, dossier, piece)

    assert (removed.removed_by, removed.removed_at is not None) == (porteur, True)
    assert removed.file.storage.exists(removed.file.name)  # audit: the file stays
    assert Piece.versions.filter(pk=piece.pk).exists()
    assert not dossier.pieces.filter(code=LAST).exists()
    assert AuditEntry.objects.filter(action="remove_piece", object_id=dossier.reference).exists()
    dossier.refresh_from_db()
    pieces_finding = next(f for f in dossier.result["findings"] if f["rule"] == "E-PIECES")
    assert pieces_finding["verdict"] == "bloquant"
    with pytest.raises(DossierError, match=r"bloquants \(E-PIECES\)"):
        apply_transition(porteur, dossier, "deposer", dossier.version)

    html = page(porteur, dossier)
    assert 'id="pieces-removed"' in html and f'data-piece="{piece.id}"' in html
    assert checklist_of(html)[LAST] == "non"
    assert downloaded(porteur, dossier, removed) == PDF

    dossier = attach_pieces(porteur, dossier, [LAST])
    assert apply_transition(porteur, dossier, "deposer", dossier.version).state == State.DEPOSE


# ---------------------------------------------------------------------------------------------------------------
# Who, and when.


def test_only_the_porteur_adds_replaces_and_removes(users):
    dossier = filed(users)
    piece = current(dossier, FIRST)
    for who in ("ars", "national", "observateur", "autre_porteur", "admin"):
        with pytest.raises(PermissionDenied):
            add_piece(users[who], dossier, FIRST, upload())
        with pytest.raises(PermissionDenied):
            replace_piece(users[who], dossier, piece, upload())
        with pytest.raises(PermissionDenied):
            remove_piece(users[who], dossier, piece)
    assert Piece.versions.filter(dossier=dossier).count() == len(STANDARD_PIECES)


def test_the_pages_refuse_a_non_porteur_and_hide_what_is_not_theirs(users):
    dossier = filed(users)
    piece = current(dossier, FIRST)
    base = f"/dossiers/{dossier.reference}/pieces"
    ars = client_for(users["ars"])
    assert ars.post(f"{base}/{piece.id}/remplacer/", {"file": upload()}).status_code == 403
    assert ars.post(f"{base}/{piece.id}/retirer/").status_code == 403
    assert ars.post(f"{base}/", {"code": FIRST, "file": upload()}).status_code == 403
    # a dossier the user does not see, and a piece of another dossier under one's own: not found
    other = client_for(users["autre_porteur"])
    assert other.post(f"{base}/{piece.id}/retirer/").status_code == 404
    foreign = draft(users)
    foreign_piece = current(foreign, FIRST)
    porteur = client_for(users["porteur"])
    assert porteur.post(f"{base}/{foreign_piece.id}/retirer/").status_code == 404
    assert porteur.get(f"{base}/{piece.id}/retirer/").status_code == 405
    assert Piece.versions.filter(removed_at__isnull=False).count() == 0
    assert "piece-replace" not in page(users["ars"], dossier)


def test_filing_pieces_are_frozen_once_filed_and_reopened_by_a_complement_request(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = filed(users)
    piece = current(dossier, FIRST)
    for change in (
        lambda: add_piece(porteur, dossier, FIRST, upload()),
        lambda: replace_piece(porteur, dossier, piece, upload()),
        lambda: remove_piece(porteur, dossier, piece),
        lambda: add_piece(porteur, dossier, "autre", upload()),
    ):
        with pytest.raises(DossierError, match="« Déposé » : les pièces du dépôt ne se modifient plus"):
            change()
    assert 'id="piece-form"' not in page(porteur, dossier)

    dossier = apply_transition(ars, dossier, "demander_complement", dossier.version, "La lettre signée, svp.")
    new = replace_piece(porteur, dossier, piece, upload("lettre-signee.pdf"))
    assert current(dossier, FIRST) == new
    remove_piece(porteur, dossier, current(dossier, LAST))
    dossier.refresh_from_db()
    assert any(f["rule"] == "E-PIECES" and f["verdict"] == "bloquant" for f in dossier.result["findings"])
    with pytest.raises(DossierError, match="E-PIECES"):
        apply_transition(porteur, dossier, "completer", dossier.version)
    dossier = attach_pieces(porteur, dossier, [LAST])
    dossier = apply_transition(porteur, dossier, "completer", dossier.version)
    with pytest.raises(DossierError, match="« Complété » : les pièces du dépôt ne se modifient plus"):
        replace_piece(porteur, dossier, new, upload())


def test_the_signed_convention_is_joined_from_engage_until_the_advance_is_paid(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = retained(users)
    with pytest.raises(DossierError, match="se joint à partir de l'état « Engagé » ; le dossier est « Retenu »"):
        add_piece(porteur, dossier, "convention_signee", upload("convention.pdf"))
    assert "convention_signee" not in checklist_of(page(porteur, dossier))

    dossier = apply_transition(ars, dossier, "engager", dossier.version, "", {"engagement_reference": "EJ-7"})
    assert checklist_of(page(porteur, dossier))["convention_signee"] == "non"
    first = add_piece(porteur, dossier, "convention_signee", upload("convention.pdf"))
    with pytest.raises(DossierError, match="« Engagé » : les pièces du dépôt ne se modifient plus"):
        add_piece(porteur, dossier, FIRST, upload())
    with pytest.raises(DossierError, match="se joint à partir de l'état « En déploiement »"):
        add_piece(porteur, dossier, "justificatifs_usage", upload())

    dossier = apply_transition(ars, dossier, "signer_convention", dossier.version)
    second = replace_piece(porteur, dossier, first, upload("convention-paraphee.pdf"))
    checklist = checklist_of(page(porteur, dossier))
    assert checklist["convention_signee"] == "oui"
    assert checklist[FIRST] == "oui"

    dossier = paid_through_request(porteur, ars, dossier)
    assert dossier.state == State.AVANCE_VERSEE
    with pytest.raises(DossierError, match="ne se modifie plus depuis l'état « Avance versée »"):
        replace_piece(porteur, dossier, second, upload())
    assert checklist_of(page(porteur, dossier))["convention_signee"] == "oui"
    # no F-EQUIP line in this grappe: hardware proofs are not asked
    with pytest.raises(DossierError, match="aucun matériel n'est financé"):
        add_piece(porteur, dossier, "justificatifs_materiel", upload())

    dossier = apply_transition(porteur, dossier, "demarrer_deploiement", dossier.version)
    add_piece(porteur, dossier, "justificatifs_usage", upload("usage.pdf"))
    checklist = checklist_of(page(porteur, dossier))
    assert (checklist["justificatifs_usage"], "justificatifs_materiel" in checklist) == ("oui", False)


@pytest.mark.parametrize(
    ("state", "code", "refused"),
    [
        (State.AVANCE_VERSEE, "justificatifs_materiel", None),
        (State.SOLDE_DEMANDE, "justificatifs_materiel", None),
        (State.SOLDE_VERSE, "justificatifs_materiel", "ne se modifie plus depuis l'état « Solde versé »"),
        (State.CONVENTION_SIGNEE, "justificatifs_materiel", "se joint à partir de l'état « Avance versée »"),
        (State.EN_DEPLOIEMENT, "justificatifs_usage", None),
        (State.CIBLES_MESUREES, "justificatifs_usage", "ne se modifie plus depuis l'état « Cibles mesurées »"),
        (State.CIBLES_MESUREES, "etat_recapitulatif_depenses", None),
        (State.SOLDE_DEMANDE, "etat_recapitulatif_depenses", None),
        (State.EN_DEPLOIEMENT, "etat_recapitulatif_depenses", "se joint à partir de l'état « Cibles mesurées »"),
        (State.AVANCE_DEMANDEE, "convention_signee", None),
        (State.ABANDONNE, "etat_recapitulatif_depenses", "ses pièces ne se modifient plus"),
        (State.CLOS, "convention_signee", "ses pièces ne se modifient plus"),
        (State.BROUILLON, "convention_signee", "se joint à partir de l'état « Engagé »"),
        (State.BROUILLON, "autre", None),
        (State.COMPLEMENT_DEMANDE, FIRST, None),
    ],
)
def test_which_state_opens_which_piece(state, code, refused):
    """The table of D-PIECE-VERSIONS, on a dossier with an F-EQUIP line (hardware funded)."""
    dossier = Dossier(campaign="2024", state=state, result={"lines": [{"rule": "F-EQUIP", "amount_eur": 8000}]})
    refusal = change_refusal(dossier, code)
    if refused is None:
        assert refusal is None
    else:
        assert refused in refusal


@pytest.mark.parametrize("campaign", ["2022", "2024"])
def test_post_decision_pieces_are_dated_parameters_with_their_source(campaign):
    types = {t.code: t for t in after_decision_types(campaign)}
    assert set(types) == {
        "convention_signee",
        "etat_recapitulatif_depenses",
        "justificatifs_materiel",
        "justificatifs_usage",
    }
    assert not set(types) & set(dict(piece_types(campaign)))
    assert (types["convention_signee"].opens, types["convention_signee"].frozen_from) == (
        State.ENGAGE,
        State.AVANCE_VERSEE,
    )
    assert types["justificatifs_materiel"].when == "equipment"
    assert "FAQN Q29" in types["justificatifs_materiel"].source
    expected = "AAP24 3.4" if campaign == "2024" else "D-PIECE-VERSIONS"
    assert expected in types["etat_recapitulatif_depenses"].source
    for kind in types.values():
        assert AFTER_DECISION_PATH.index(kind.opens) < AFTER_DECISION_PATH.index(kind.frozen_from)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "clés attendues"),
        ({"until": "engage"}, "« from » doit précéder « until »"),
        ({"from": "retenu"}, "« from » doit précéder « until »"),
        ({"when": "always"}, "condition inconnue « always »"),
    ],
)
def test_a_careless_post_decision_row_is_refused(change, message):
    from esms_numerique.dossiers.pieces import _after_decision_type
    from esms_numerique.rules.parameters import ParameterError

    row = {"code": "x", "label": "X", "rule": "F-PAY", "from": "engage", "until": "avance_versee"} | change
    with pytest.raises(ParameterError, match=message):
        _after_decision_type("pieces.after_decision_x", row, "AAP24 3.4")


# ---------------------------------------------------------------------------------------------------------------
# The page.


def test_the_checklist_ticks_what_is_joined(users):
    porteur = users["porteur"]
    dossier = draft(users, STANDARD_PIECES[:-1])
    html = page(porteur, dossier)
    checklist = checklist_of(html)
    assert list(checklist) == STANDARD_PIECES  # E-PIECES' required pieces of this grappe, in order
    assert checklist[FIRST] == "oui"
    assert checklist[LAST] == "non"
    assert "✓ jointe" in html and "✗ à joindre" in html
    # the source by the text's title and paragraph, not by its short name and seed file (issue 12)
    assert (
        "E-PIECES : <cite>ARS Bretagne, appel à projets ESMS numérique, phase de généralisation 2024</cite>, Annexe 2"
        in html
    )
    # whoever sees the dossier sees its checklist (read only)
    dossier = attach_pieces(porteur, dossier, [LAST])
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    assert set(checklist_of(page(users["ars"], dossier)).values()) == {"oui"}


def test_the_porteur_adds_replaces_and_removes_through_the_page(users):
    porteur = users["porteur"]
    dossier = create_dossier(porteur, "Grappe", "2024", grappe(4))
    client = client_for(porteur)
    base = f"/dossiers/{dossier.reference}/pieces"
    html = page(porteur, dossier)
    assert 'id="piece-form"' in html and 'value="convention_signee"' not in html

    response = client.post(f"{base}/", {"code": FIRST, "file": upload("note.pdf")}, follow=True)
    assert "Pièce « note.pdf » jointe." in response.content.decode()
    piece = current(dossier, FIRST)
    assert checklist_of(response.content.decode())[FIRST] == "oui"

    response = client.post(f"{base}/{piece.id}/remplacer/", {"file": upload("note-v2.pdf")}, follow=True)
    html = response.content.decode()
    assert "« note.pdf » remplacée par « note-v2.pdf »." in html
    new = current(dossier, FIRST)
    assert (new.original_name, new.replaces_id) == ("note-v2.pdf", piece.id)
    assert "Versions précédentes (1)" in html

    response = client.post(f"{base}/{new.id}/remplacer/", {"file": upload("note.exe", b"MZ")}, follow=True)
    assert "Remplacement refusé : « note.exe » : type refusé" in response.content.decode()
    response = client.post(f"{base}/{new.id}/remplacer/", {}, follow=True)
    assert "Remplacement refusé : choisissez un fichier." in response.content.decode()

    response = client.post(f"{base}/{new.id}/retirer/", follow=True)
    html = response.content.decode()
    assert "Pièce « note-v2.pdf » retirée" in html
    assert not dossier.pieces.exists()
    assert checklist_of(html)[FIRST] == "non"
    assert 'id="pieces-removed"' in html

    dossier = apply_transition(porteur, attach_pieces(porteur, dossier), "deposer", dossier.version)
    response = client.post(f"{base}/", {"code": FIRST, "file": upload()}, follow=True)
    assert "Pièce refusée : Le dossier est « Déposé » : les pièces du dépôt ne se modifient plus" in (
        response.content.decode()
    )
