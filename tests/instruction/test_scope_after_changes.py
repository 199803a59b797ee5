"""Who reads and acts on a dossier once things move: the private annotations counted as unread only for who reads
them, the regions covered following a retained grappe's change, the homes after a hand-over, an assignment checked
under the dossier's lock, the routing and regions audited with the filing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.dossiers.access import can_see, is_instructor_of
from esms_numerique.dossiers.changes import join_essms, withdraw_essms
from esms_numerique.dossiers.models import Dossier, PaymentRequest
from esms_numerique.dossiers.services import post_message
from esms_numerique.instruction import services
from esms_numerique.instruction.models import Assignment, DossierRegion, HandOver, InstructorGroup

from .conftest import BZH, IDF, filed, html

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unread(user, reference: str) -> int:
    rows = client_for(user).get("/dossiers/").context["dossiers"]
    return {d.reference: d.unread for d in rows}[reference]


def retained(dossier: Dossier) -> Dossier:
    Dossier.objects.filter(pk=dossier.pk).update(state="retenu", engaged_eur=dossier.filed_result["total_eur"])
    return Dossier.objects.get(pk=dossier.pk)


# --- S3: the private annotations in the unread count --------------------------------------------------------------


def test_a_private_annotation_is_unread_only_for_who_reads_it(users, multiregional):
    post_message(users["ars"], multiregional, "Note privée de l'ARS pivot.", private=True)
    assert unread(users["autre_ars"], multiregional.reference) == 0  # the other ARS never reads it
    assert unread(users["collegue"], multiregional.reference) == 1  # the pivot ARS does
    assert unread(users["national"], multiregional.reference) == 1
    assert unread(users["porteur"], multiregional.reference) == 0
    post_message(users["porteur"], multiregional, "Question du porteur.")
    assert unread(users["autre_ars"], multiregional.reference) == 1
    detail = html(client_for(users["autre_ars"]).get(f"/dossiers/{multiregional.reference}/"))
    assert "Question du porteur." in detail and "Note privée de l'ARS pivot." not in detail


# --- S4: the regions follow a change of the retained grappe ------------------------------------------------------


def test_withdrawing_a_regions_essms_stops_its_ars_reading(users, multiregional):
    dossier = retained(multiregional)
    assert can_see(users["autre_ars"], dossier)
    for number in IDF:
        dossier = withdraw_essms(users["ars"], dossier, dossier.version, number, "Fermeture des ESSMS parisiens.")
    assert set(DossierRegion.objects.filter(dossier=dossier).values_list("region", flat=True)) == {"53"}
    assert not can_see(users["autre_ars"], dossier)
    rows = client_for(users["autre_ars"]).get("/dossiers/").context["dossiers"]
    assert dossier.reference not in {d.reference for d in rows}
    entry = AuditEntry.objects.filter(action="regions_couvertes", object_id=dossier.reference).last()
    assert entry.actor == "ars_bretagne" and entry.after == {"régions": {"53": 6}}


def test_an_essms_of_a_new_region_joining_makes_its_ars_read(users):
    dossier = retained(filed(users["porteur"], BZH[:3], "Grappe bretonne"))
    assert not can_see(users["autre_ars"], dossier)
    dossier = join_essms(
        users["ars"], dossier, dossier.version, IDF[0], True, "Déploiement au second semestre.", "Rapprochement."
    )
    assert dict(DossierRegion.objects.filter(dossier=dossier).values_list("region", "essms_count")) == {
        "53": 3,
        "11": 1,
    }
    assert can_see(users["autre_ars"], dossier)


# --- C2: the homes after a hand-over -----------------------------------------------------------------------------


def test_a_handed_over_dossier_leaves_the_ars_home_for_the_national_one(users, multiregional):
    def sections(user) -> dict[str, list]:
        response = client_for(user).get("/")
        return {s.key: [getattr(r, "dossier", r) for r in s.rows] for s in response.context["sections"]}

    assert multiregional in sections(users["ars"])["a-instruire"]
    assert multiregional not in sections(users["national"])["a-instruire"]
    services.hand_over(users["ars"], multiregional, multiregional.version, "Projet complexe.")
    assert multiregional not in sections(users["ars"])["a-instruire"]
    assert multiregional in sections(users["national"])["a-instruire"]
    PaymentRequest.objects.create(
        dossier=multiregional, kind=PaymentRequest.Kind.ADVANCE, amount_eur=1000, requested_by=users["porteur"]
    )
    assert multiregional not in sections(users["ars"])["paiements"]
    assert multiregional in sections(users["national"])["paiements"]


# --- C3, C5, S6: hand-over and assignment -------------------------------------------------------------------------


def test_the_hand_over_and_the_national_following_are_one_change(users, multiregional, monkeypatch):
    from esms_numerique.notifications import services as notifications

    def broken(user, dossier):
        raise RuntimeError("panne")

    monkeypatch.setattr(notifications, "follow", broken)
    with pytest.raises(RuntimeError):
        services.hand_over(users["ars"], multiregional, multiregional.version, "Projet complexe.")
    assert not HandOver.objects.filter(dossier=multiregional).exists()
    assert not AuditEntry.objects.filter(action="confier_au_national").exists()


def test_an_assignment_is_checked_on_the_dossier_as_it_is_now(users, multiregional):
    stale = Dossier.objects.get(pk=multiregional.pk)
    assert is_instructor_of(users["ars"], stale)  # read before the hand-over, kept by the page
    services.hand_over(users["ars"], multiregional, multiregional.version, "Projet complexe.")
    with pytest.raises(PermissionDenied):
        services.assign(users["ars"], stale, users["ars"])
    assert not Assignment.objects.filter(dossier=multiregional, instructor=users["ars"]).exists()


def test_taking_a_dossier_twice_changes_nothing(users, multiregional):
    first = services.assign(users["ars"], multiregional, users["ars"])
    again = services.assign(users["ars"], multiregional, users["ars"])
    assert again == first
    assert Assignment.objects.filter(dossier=multiregional).count() == 1
    assert AuditEntry.objects.filter(action="attribuer").count() == 1


def test_a_refused_assignment_does_not_name_the_person(users, multiregional):
    users["ars_occitanie"].first_name, users["ars_occitanie"].last_name = "Camille", "Secrète"
    users["ars_occitanie"].save()
    with pytest.raises(services.InstructionError) as refused:
        services.assign(users["ars"], multiregional, users["ars_occitanie"])
    assert "Secrète" not in str(refused.value) and "ars_occitanie" not in str(refused.value)
    response = client_for(users["ars"]).post(
        f"/dossiers/{multiregional.reference}/attribution/", {"instructor": users["ars_occitanie"].pk}, follow=True
    )
    assert "Attribution refusée" in html(response) and "Secrète" not in html(response)


# --- C8: routing and regions audited with the filing --------------------------------------------------------------


def test_the_routing_and_the_regions_are_audited_with_the_filing(users):
    InstructorGroup.objects.create(region="53", label="Pôle Ille-et-Vilaine", departments="35")
    dossier = filed(users["porteur"])
    regions = AuditEntry.objects.get(action="regions_couvertes", object_id=dossier.reference)
    assert regions.actor == "porteur" and regions.after == {"régions": {"11": 4, "53": 6}}
    routed = AuditEntry.objects.get(action="router", object_id=dossier.reference)
    assert routed.actor == "porteur" and routed.after == {"groupe instructeur": "Pôle Ille-et-Vilaine"}
