"""The dossier lifecycle: who may do what, what each step checks, and that nothing is lost."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import AmountVersion, Message
from esms_numerique.dossiers.services import (
    DossierError,
    StaleDossier,
    apply_transition,
    create_dossier,
    deadline,
    post_message,
    revise_amount,
    update_grappe,
)
from esms_numerique.workflow.models import TransitionLog

from .conftest import attach_pieces, grappe, measure, paid_through_request, through_committee

pytestmark = pytest.mark.django_db


def step(user, dossier, name, comment="", **data):
    if name == "deposer" and not dossier.pieces.exists():
        dossier = attach_pieces(user, dossier)
    return apply_transition(user, dossier, name, dossier.version, comment, data)


def test_full_lifecycle_from_draft_to_closing(users, settings):
    porteur, ars = users["porteur"], users["ars"]
    dossier = create_dossier(porteur, "Grappe DUI Ille-et-Vilaine", "2024", grappe())
    assert (dossier.state, dossier.desk, dossier.pivot_region) == (State.BROUILLON, "regional", "53")
    assert dossier.result["total_eur"] == 20 * (7000 + 14000)

    dossier = step(porteur, dossier, "deposer")
    assert dossier.filed_result["total_eur"] == 420000
    assert dossier.filed_at.date().isoformat() == "2024-03-11"
    dossier = step(ars, dossier, "demander_complement", "Joindre la lettre d'engagement signée.")
    dossier = step(porteur, dossier, "completer")
    for name in ("declarer_recevable", "instruire"):
        dossier = step(ars, dossier, name)
    with pytest.raises(DossierError, match="se fait depuis l'ordre du jour d'un comité"):
        step(ars, dossier, "inscrire_comite")
    dossier = through_committee(ars, dossier)
    assert dossier.engaged_eur == 420000
    for name in ("engager", "signer_convention"):
        dossier = step(ars, dossier, name)
    dossier = paid_through_request(porteur, ars, dossier)
    assert dossier.advance_paid_eur == 210000
    assert dossier.payment_requests.get().payment_reference == "CHORUS-1"
    dossier = step(porteur, dossier, "demarrer_deploiement")
    assert deadline(dossier)["months"] == 18
    with pytest.raises(DossierError, match="Aucune mesure d'usage déposée"):
        step(ars, dossier, "enregistrer_cibles")
    settings.ESMS_TODAY = "2024-07-15"  # the measurement of 30/06 is in the past now
    measure(porteur, dossier)
    dossier = step(ars, dossier, "enregistrer_cibles")
    assert dossier.targets_met_on.isoformat() == "2024-06-30"
    with pytest.raises(DossierError, match="état récapitulatif des dépenses"):
        step(porteur, dossier, "demander_solde")
    with pytest.raises(DossierError, match="depuis la demande de paiement"):
        step(ars, dossier, "verser_solde")
    dossier = paid_through_request(porteur, ars, dossier, "solde", "CHORUS-2", expenses_statement=True)
    assert (dossier.state, dossier.balance_paid_eur) == (State.SOLDE_VERSE, 210000)
    dossier = step(ars, dossier, "clore")
    assert dossier.state == State.CLOS
    # 14 steps, the advance and the balance each asked for then paid (demander_* and verser_*).
    assert dossier.transitions.count() == 16
    assert Message.objects.filter(dossier=dossier).count() == 2  # the correction request and the decision
    # creation, 10 pieces, 16 steps, the regions covered (written at filing), the committee's decision, the
    # measurements, and per payment request its approval and its payment
    assert AuditEntry.objects.filter(object_id=dossier.reference).count() == 34
    assert AuditEntry.objects.filter(object_id=dossier.reference, action="regions_couvertes").count() == 1
    assert verify_chain() == []


def test_a_blocking_finding_prevents_filing(users):
    dossier = create_dossier(users["porteur"], "Trop tard", "2024", grappe())
    dossier = update_grappe(
        users["porteur"],
        dossier,
        dossier.version,
        "Sans référencement",
        {**grappe(), "solution": {"segur_referenced": False}},
    )
    with pytest.raises(DossierError, match=r"constats sont bloquants \(E-SEGUR\)"):
        step(users["porteur"], dossier, "deposer")
    dossier.refresh_from_db()
    assert dossier.state == State.BROUILLON


def test_outside_the_window_filing_is_refused(users, settings):
    dossier = create_dossier(users["porteur"], "Hors fenêtre", "2024", grappe())
    settings.ESMS_TODAY = "2024-09-16"
    with pytest.raises(DossierError, match="E-WINDOW"):
        step(users["porteur"], dossier, "deposer")


@pytest.mark.parametrize(
    ("who", "name"),
    [
        ("porteur", "declarer_recevable"),
        ("autre_porteur", "deposer"),
        ("autre_ars", "declarer_recevable"),
        ("national", "declarer_recevable"),
        ("observateur", "declarer_recevable"),
        ("admin", "declarer_recevable"),
    ],
)
def test_forbidden_transitions_are_refused_and_change_nothing(users, who, name):
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    if name != "deposer":
        dossier = step(users["porteur"], dossier, "deposer")
    version = dossier.version
    with pytest.raises(PermissionDenied):
        step(users[who], dossier, name)
    dossier.refresh_from_db()
    assert dossier.version == version
    assert not TransitionLog.objects.filter(transition=name).exists()


def test_a_transition_from_the_wrong_state_is_refused(users):
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    dossier = step(users["porteur"], dossier, "deposer")
    with pytest.raises(DossierError, match="impossible quand le dossier est « Déposé »"):
        step(users["ars"], dossier, "engager")
    with pytest.raises(DossierError, match="demande un commentaire"):
        step(users["ars"], dossier, "demander_complement")


def test_two_instructors_on_one_dossier_lose_no_update(users):
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    dossier = step(users["porteur"], dossier, "deposer")
    first_view, second_view = dossier.version, dossier.version
    apply_transition(users["ars"], dossier, "declarer_recevable", first_view)
    stale = type(dossier).objects.get(pk=dossier.pk)
    stale.version = second_view
    stale.state = State.DEPOSE
    with pytest.raises(StaleDossier, match="modifié par quelqu'un d'autre"):
        apply_transition(users["ars"], stale, "demander_complement", second_view, "Complément")
    dossier.refresh_from_db()
    assert dossier.state == State.RECEVABLE
    assert not TransitionLog.objects.filter(transition="demander_complement").exists()


def test_the_grappe_is_frozen_once_filed_and_amounts_are_versioned(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = create_dossier(porteur, "Grappe", "2024", grappe())
    dossier = step(porteur, dossier, "deposer")
    with pytest.raises(DossierError, match="ne se modifie plus"):
        update_grappe(porteur, dossier, dossier.version, "Autre", grappe(15))
    for name in ("declarer_recevable", "instruire"):
        dossier = step(ars, dossier, name)
    dossier = through_committee(ars, dossier)
    with pytest.raises(DossierError, match="motif est obligatoire"):
        revise_amount(ars, dossier, dossier.version, 400000, "")
    with pytest.raises(PermissionDenied):
        revise_amount(porteur, dossier, dossier.version, 400000, "Je préfère")
    dossier = revise_amount(ars, dossier, dossier.version, 400000, "Enveloppe régionale")
    assert list(AmountVersion.objects.filter(dossier=dossier).values_list("number", "amount_eur")) == [
        (1, 420000),
        (2, 400000),
    ]
    assert dossier.filed_result["total_eur"] == 420000  # the filed version never changes


def test_messages_and_private_annotations(users):
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    dossier = apply_transition(users["porteur"], attach_pieces(users["porteur"], dossier), "deposer", dossier.version)
    post_message(users["porteur"], dossier, "Bonjour")
    with pytest.raises(PermissionDenied):
        post_message(users["porteur"], dossier, "note", private=True)
    post_message(users["ars"], dossier, "À vérifier : SAAD ?", private=True)
    with pytest.raises(PermissionDenied):
        post_message(users["autre_porteur"], dossier, "Intrus")
    with pytest.raises(PermissionDenied):
        post_message(users["observateur"], dossier, "Lecture seule")
    assert Message.objects.filter(dossier=dossier, private=True).count() == 1


def test_pieces_are_checked_and_missing_ones_block_filing(users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from esms_numerique.dossiers.services import add_piece

    from .conftest import PDF, STANDARD_PIECES

    porteur = users["porteur"]
    dossier = create_dossier(porteur, "Grappe", "2024", grappe())
    bad = [
        (SimpleUploadedFile("note.exe", b"MZ...."), "type refusé"),
        (SimpleUploadedFile("note.pdf", b"<html>not a pdf</html>"), "n'est pas un fichier PDF valide"),
        (SimpleUploadedFile("note.pdf", b""), "est vide"),
        (SimpleUploadedFile("note.docx", PDF), "n'est pas un fichier DOCX valide"),
    ]
    for upload, message in bad:
        with pytest.raises(DossierError, match=message):
            add_piece(porteur, dossier, "note_presentation", upload)
    with pytest.raises(PermissionDenied):
        add_piece(users["ars"], dossier, "note_presentation", SimpleUploadedFile("n.pdf", PDF))
    with pytest.raises(DossierError, match="Type de pièce inconnu"):
        add_piece(porteur, dossier, "photo_de_vacances", SimpleUploadedFile("n.pdf", PDF))
    assert not dossier.pieces.exists()

    attach_pieces(porteur, dossier, STANDARD_PIECES[:-1])
    with pytest.raises(DossierError, match=r"bloquants \(E-PIECES\)"):
        apply_transition(porteur, dossier, "deposer", dossier.version)
    dossier = attach_pieces(porteur, dossier, STANDARD_PIECES[-1:])
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    assert dossier.state == State.DEPOSE
    with pytest.raises(DossierError, match="ne se modifient plus"):
        add_piece(porteur, dossier, "note_presentation", SimpleUploadedFile("n.pdf", PDF))


def test_a_piece_is_too_large(users, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from esms_numerique.dossiers.services import add_piece

    settings.PIECE_MAX_BYTES = 100
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    with pytest.raises(DossierError, match="dépasse la taille maximale"):
        add_piece(users["porteur"], dossier, "gouvernance", SimpleUploadedFile("g.pdf", b"%PDF-" + b"x" * 200))


def test_deadline_is_flagged_when_overdue(users, settings):
    import datetime as dt

    porteur, ars = users["porteur"], users["ars"]
    dossier = step(
        porteur, create_dossier(porteur, "Montée de version", "2024", grappe(operation="upgrade")), "deposer"
    )
    for name in ("declarer_recevable", "instruire"):
        dossier = step(ars, dossier, name)
    dossier = through_committee(ars, dossier)
    dossier = step(ars, dossier, "engager")
    dossier = step(ars, dossier, "signer_convention", date=dt.date(2024, 5, 15))
    assert deadline(dossier) == {"months": 9, "due": dt.date(2025, 2, 15), "overdue": False, "extended": False}
    settings.ESMS_TODAY = "2025-02-16"
    assert deadline(dossier)["overdue"] is True
    dossier.desk = "national"
    assert deadline(dossier) is None


def test_an_essms_already_funded_on_the_platform_cannot_be_funded_again(users):
    porteur, ars = users["porteur"], users["ars"]
    first = step(porteur, create_dossier(porteur, "Première grappe", "2024", grappe(15)), "deposer")
    for name in ("declarer_recevable", "instruire"):
        first = step(ars, first, name)
    first = through_committee(ars, first)
    second = create_dossier(porteur, "Seconde grappe", "2024", grappe(20))
    doubles = [f for f in second.result["findings"] if f["rule"] == "E-NO-DOUBLE" and f["verdict"] == "bloquant"]
    assert len(doubles) == 15
    assert "Déjà financé par ESMS numérique en 2024" in doubles[0]["message"]
    assert second.result["total_eur"] == 5 * (7000 + 14000)
    # the retained dossier itself is not its own double
    first = revise_amount(ars, first, first.version, 300000, "Enveloppe")
    assert not [f for f in first.result["findings"] if f["rule"] == "E-NO-DOUBLE" and f["verdict"] == "bloquant"]
