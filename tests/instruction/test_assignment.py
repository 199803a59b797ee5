"""Groupes instructeurs and assignment: routing at filing, « s'attribuer », a colleague of the same ARS, refused
for another region; every step audited and kept in the history."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.instruction import services
from esms_numerique.instruction.models import Assignment, InstructorGroup
from tests.instruction.conftest import html

from .conftest import BZH, filed

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_new_dossier_is_routed_to_the_group_of_its_departments(users):
    InstructorGroup.objects.create(region="53", label="Pôle général")
    finistere = InstructorGroup.objects.create(region="53", label="Pôle Finistère", departments="29")
    ille = InstructorGroup.objects.create(region="53", label="Pôle Ille-et-Vilaine", departments="35, 56")
    InstructorGroup.objects.create(region="11", label="Pôle Paris", departments="75")
    dossier = filed(users["porteur"])  # 6 ESSMS in 35, 4 in 75: pivot Bretagne
    routed = Assignment.objects.get(dossier=dossier)
    assert routed.group == ille and routed.instructor is None and routed.assigned_by is None
    assert finistere != routed.group


def test_routing_by_sector_then_the_default_group(users):
    default = InstructorGroup.objects.create(region="53", label="Pôle général")
    InstructorGroup.objects.create(region="53", label="Pôle handicap", sectors="PH")
    dossier = filed(users["porteur"], BZH[:3], "Grappe bretonne")  # EHPAD: PA
    assert Assignment.objects.get(dossier=dossier).group == default


def test_no_group_no_routing(multiregional):
    assert not Assignment.objects.filter(dossier=multiregional).exists()


def test_an_instructor_assigns_the_dossier_to_themself_from_the_page(users, multiregional):
    ars = client_for(users["ars"])
    page = html(ars.get(f"/dossiers/{multiregional.reference}/"))
    assert 'id="assign-self-form"' in page and "Pas encore attribué" in page
    response = ars.post(f"/dossiers/{multiregional.reference}/attribution/", {"instructor": "moi"}, follow=True)
    assert "Dossier attribué à vous." in html(response)
    current = services.current_assignment(multiregional)
    assert current.instructor == users["ars"] and current.assigned_by == users["ars"]
    assert AuditEntry.objects.filter(action="attribuer", object_id=multiregional.reference).exists()
    page = html(ars.get(f"/dossiers/{multiregional.reference}/"))
    assert 'id="assign-self-form"' not in page and "Attribué à" in page


def test_an_instructor_assigns_a_colleague_of_the_same_ars(users, multiregional):
    response = client_for(users["ars"]).post(
        f"/dossiers/{multiregional.reference}/attribution/", {"instructor": users["collegue"].pk}, follow=True
    )
    assert "Dossier attribué à ars_bretagne_2." in html(response)
    assert services.current_assignment(multiregional).instructor == users["collegue"]
    assert [a.instructor for a in multiregional.assignments.all()] == [users["collegue"]]


def test_an_instructor_of_another_region_is_refused(users, multiregional):
    ars = client_for(users["ars"])
    response = ars.post(
        f"/dossiers/{multiregional.reference}/attribution/", {"instructor": users["ars_occitanie"].pk}, follow=True
    )
    assert "Attribution refusée" in html(response)
    assert "n'instruit pas pour la même ARS" in html(response)
    assert not Assignment.objects.filter(dossier=multiregional).exists()
    with pytest.raises(services.InstructionError):
        services.assign(users["ars"], multiregional, users["autre_ars"])


def test_who_does_not_instruct_cannot_assign(users, multiregional):
    for who in ("autre_ars", "observateur", "porteur"):
        with pytest.raises(PermissionDenied):
            services.assign(users[who], multiregional, users[who])
    response = client_for(users["autre_ars"]).post(
        f"/dossiers/{multiregional.reference}/attribution/", {"instructor": "moi"}
    )
    assert response.status_code == 403
    assert not Assignment.objects.filter(dossier=multiregional).exists()
