"""Issue 11: a dossier's lifecycle told by e-mail, received by a real SMTP server on loopback — who, what subject,
which link — and every message recorded in the outbox."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from esms_numerique.accounts.enums import Role
from esms_numerique.dossiers.payments import PAYMENT
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.dossiers.workflow import WORKFLOW
from esms_numerique.notifications import events
from esms_numerique.notifications.enums import Status
from esms_numerique.notifications.models import Notification
from esms_numerique.notifications.services import follow, is_following, unfollow
from esms_numerique.sons.workflow import WORKFLOW as ORDERS
from tests.dossiers.conftest import attach_pieces, grappe, make_user, paid_through_request, through_committee
from tests.pdfs import pdf_text

from .conftest import address, body, subject

PAGE = "https://esms.exemple.gouv.fr/dossiers/ESMS-2024-00001/"


def test_every_step_that_notifies_is_worded_and_every_listener_registered():
    for workflow, catalogue in ((WORKFLOW, events.DOSSIER), (ORDERS, events.ORDER)):
        assert {t.name for t in workflow.transitions if t.notifies} <= set(catalogue), workflow.name
    assert all(any(f.__module__.endswith("listeners") for f in w.listeners) for w in (WORKFLOW, PAYMENT, ORDERS))


@pytest.mark.django_db(transaction=True)
def test_a_dossier_lifecycle_by_email(people, smtp):
    porteur, ars, cnsa = people["porteur"], people["ars"], people["national"]
    colleague = make_user("ars_bretagne_2", Role.ARS, region="53")
    colleague.email = address(colleague)
    colleague.save()
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe bretonne", "2024", grappe(4)))
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)

    # Filed: the porteur's receipt, and the pivot ARS's instructors (not the other region's, not CNSA).
    assert smtp.subjects(address(porteur)) == ["[ESMS numérique] ESMS-2024-00001 : accusé de réception du dépôt"]
    new = "[ESMS numérique] ESMS-2024-00001 : nouveau dossier déposé"
    assert smtp.subjects(address(ars)) == smtp.subjects(address(colleague)) == [new]
    assert smtp.to(address(people["autre_ars"])) == smtp.to(address(cnsa)) == []
    receipt = smtp.to(address(porteur))[0]
    assert receipt["From"] == "ESMS numérique <ne-pas-repondre@esms.exemple.gouv.fr>"
    assert PAGE in body(receipt) and f'href="{PAGE}"' in body(receipt, "html")
    assert "Montant calculé au dépôt (figé)" in body(receipt) and "régional (ARS Bretagne)" in body(receipt)
    # The frozen result as PDF (issue 11: « porteur receipt with the frozen result as PDF »).
    (pdf,) = [part for part in receipt.iter_attachments() if part.get_content_type() == "application/pdf"]
    receipt_text = pdf_text(pdf.get_content())
    assert "Accusé de réception du dépôt" in receipt_text and "F-USAGE" in receipt_text
    assert "84 000 €" in receipt_text.replace("\u202f", " ")

    # The colleague stops following; CNSA follows this regional dossier.
    unfollow(colleague, dossier)
    follow(cnsa, dossier)
    for outsider in (porteur, people["autre_ars"]):
        with pytest.raises(PermissionDenied):
            follow(outsider, dossier)
    assert (is_following(colleague, dossier), is_following(cnsa, dossier), is_following(ars, dossier)) == (
        False,
        True,
        True,
    )
    dossier = apply_transition(ars, dossier, "demander_complement", dossier.version, "Joignez le RIB, merci.")
    asked = smtp.to(address(porteur))[-1]
    assert subject(asked) == "[ESMS numérique] ESMS-2024-00001 : complément demandé"
    assert "« Joignez le RIB, merci. »" in body(asked)
    dossier = apply_transition(porteur, dossier, "completer", dossier.version)
    sent = "[ESMS numérique] ESMS-2024-00001 : complément transmis"
    assert smtp.subjects(address(ars))[-1] == smtp.subjects(address(cnsa))[-1] == sent
    assert smtp.subjects(address(colleague)) == [new]

    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    dossier = apply_transition(ars, dossier, "engager", dossier.version, "", {"engagement_reference": "EJ-1"})
    dossier = apply_transition(ars, dossier, "signer_convention", dossier.version)
    paid_through_request(porteur, ars, dossier)

    assert [s.split(" : ", 1)[1] for s in smtp.subjects(address(porteur))] == [
        "accusé de réception du dépôt",
        "complément demandé",
        "dossier recevable",
        "projet retenu",
        "montant engagé",
        "convention signée",
        "avance versée",
    ]
    assert [s.split(" : ", 1)[1] for s in smtp.subjects(address(ars))] == [
        "nouveau dossier déposé",
        "complément transmis",
        "avance demandée",
    ]
    paid = smtp.to(address(porteur))[-1]
    assert "Avance versée" in body(paid) and "42\u202f000 €" in body(paid)
    assert all(PAGE in body(m) for _, m in smtp.received)
    # Nobody hears of their own step, and every e-mail is in the outbox, sent once.
    assert smtp.to(address(people["observateur"])) == smtp.to(address(people["autre_porteur"])) == []
    rows = Notification.objects.all()
    assert rows.count() == len(smtp.received) == 13
    assert set(rows.values_list("status", "attempts")) == {(Status.SENT, 1)}
    assert rows.filter(email=address(porteur), event="dossier:deposer:accuse").get().link == PAGE
