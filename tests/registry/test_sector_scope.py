"""Issue 15, scope: a sector correction is the Django permission first, then the instructor's region — an ARS
instructor of Bretagne (53) does not correct an ESSMS of Occitanie (76); national teams and administrators correct
everywhere (docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.audit.models import AuditEntry
from esms_numerique.registry.models import Establishment
from esms_numerique.registry.services import import_extracts
from tests.rules.grappes import finess_for

from .test_import import et_line, extract

pytestmark = pytest.mark.django_db
BRETAGNE = finess_for("35", 1)
OCCITANIE = finess_for("31", 1)


@pytest.fixture(autouse=True)
def registry():
    import_extracts(
        "et.csv",
        extract(et_line(BRETAGNE), et_line(OCCITANIE, finess_ej=finess_for("31", 2), department="31")),
    )
    assert Establishment.objects.get(finess_et=OCCITANIE).region == "76"


def client_of(username: str, role: Role | None = None, region: str = "", permission: bool = True) -> Client:
    user = User.objects.create_user(username, password="x")
    if role:
        Profile.objects.create(user=user, role=role, region=region)
    if permission:
        user.user_permissions.add(Permission.objects.get(codename="change_establishment"))
    client = Client()
    client.force_login(user)
    return client


def correct(client: Client, finess: str):
    return client.post(f"/repertoire/{finess}/secteur/", {"sector": "PH", "reason": "Service rattaché."})


def sector(finess: str) -> str:
    return Establishment.objects.get(finess_et=finess).effective_sector


def test_an_ars_instructor_corrects_its_region_only():
    ars = client_of("ars_bretagne", Role.ARS, "53")
    assert correct(ars, BRETAGNE).status_code == 302 and sector(BRETAGNE) == "PH"
    refused = correct(ars, OCCITANIE)
    assert refused.status_code == 403
    text = html.unescape(refused.content.decode())
    assert f"L'établissement {OCCITANIE} relève de la région Occitanie" in text
    assert "une ARS ne corrige que les secteurs des établissements de sa région" in text
    assert sector(OCCITANIE) == "PA"
    assert list(AuditEntry.objects.filter(action="override_sector").values_list("object_id", flat=True)) == [BRETAGNE]
    # the page offers the form where the correction is possible only
    assert "Corriger le secteur" in ars.get(f"/repertoire/{BRETAGNE}/").content.decode()
    assert "Corriger le secteur" not in ars.get(f"/repertoire/{OCCITANIE}/").content.decode()


def test_the_permission_stays_the_first_gate():
    ars = client_of("ars_bretagne", Role.ARS, "53", permission=False)
    assert correct(ars, BRETAGNE).status_code == 403
    assert sector(BRETAGNE) == "PA"


@pytest.mark.parametrize(("role", "region"), [(Role.NATIONAL, ""), (Role.ADMIN, "")])
def test_national_teams_and_administrators_correct_everywhere(role, region):
    client = client_of("equipe", role, region)
    assert correct(client, BRETAGNE).status_code == 302 and correct(client, OCCITANIE).status_code == 302
    assert (sector(BRETAGNE), sector(OCCITANIE)) == ("PH", "PH")


def test_a_superuser_corrects_everywhere():
    client = Client()
    client.force_login(User.objects.create_superuser("admin", password="x"))
    assert correct(client, OCCITANIE).status_code == 302 and sector(OCCITANIE) == "PH"


@pytest.mark.parametrize(("role", "region"), [(None, ""), (Role.OBSERVER, "53"), (Role.PORTEUR, "")])
def test_the_permission_without_an_instructor_role_is_refused(role, region):
    refused = correct(client_of("quelqu_un", role, region), BRETAGNE)
    assert refused.status_code == 403
    text = html.unescape(refused.content.decode())
    assert "réservée aux instructeurs d'ARS, pour les établissements de leur région" in text
    assert sector(BRETAGNE) == "PA"
