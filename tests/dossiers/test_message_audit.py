"""Issue 15: the thread's messages and the instructors' annotations are audited — the message's id and the SHA-256
of its text, not the text (docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

import hashlib

import pytest

from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.dossiers.services import DossierError, apply_transition, create_dossier, post_message

from .conftest import attach_pieces, grappe

pytestmark = pytest.mark.django_db


def test_messages_and_annotations_are_audited_without_their_text(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(3)))
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    message = post_message(porteur, dossier, "  Le devis signé est joint.  ")
    note = post_message(ars, dossier, "Devis à comparer avec celui de 2023.", private=True)
    entries = list(AuditEntry.objects.filter(action__in=["post_message", "post_annotation"]).order_by("id"))
    assert [(e.action, e.actor, e.object_type, e.object_id) for e in entries] == [
        ("post_message", "porteur", "Dossier", dossier.reference),
        ("post_annotation", "ars_bretagne", "Dossier", dossier.reference),
    ]
    assert entries[0].after == {
        "message": message.pk,
        "sha256": hashlib.sha256(b"Le devis sign\xc3\xa9 est joint.").hexdigest(),
    }
    assert entries[1].after["message"] == note.pk
    assert "devis" not in str(entries[0].after).lower() + str(entries[1].after).lower()
    assert verify_chain() == []


def test_a_refused_message_leaves_no_entry(users):
    porteur = users["porteur"]
    dossier = create_dossier(porteur, "Grappe", "2024", grappe(3))
    with pytest.raises(DossierError):
        post_message(porteur, dossier, "   ")
    assert not AuditEntry.objects.filter(action="post_message").exists()
