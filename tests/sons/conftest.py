"""SONS tests live during the MS1 couloir (orders open from 16/02/2022 to 10/01/2024), with an OG of 35 ESSMS."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.registry.models import LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.sons.models import Editor, Solution
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for

OG = "350000014"
OTHER_OG = "290000009"
ESSMS = [finess_for("35", n) for n in range(35)]
HOSPITAL = finess_for("35", 900)


@pytest.fixture(autouse=True)
def during_ms1(settings):
    settings.ESMS_TODAY = "2023-05-02"


@pytest.fixture
def world():
    lines = [et_line(f, finess_ej=OG) for f in ESSMS]
    lines.append(et_line(HOSPITAL, finess_ej=OG, category="355").replace(";4401;", ";1102;"))
    lines.append(et_line("290000017", finess_ej=OTHER_OG, department="29"))
    import_extracts("et.csv", extract(*lines, meta="finess;etalab;1;2023-01-03"))
    editor = Editor.objects.create(name="Éditeur synthétique", siret="73282932000074")
    other_editor = Editor.objects.create(name="Autre éditeur", siret="35600000000048")
    solution = Solution.objects.create(
        editor=editor, name="DUI", version="5.0", couloir="MS1", referencing=Solution.Referencing.REFERENCED
    )

    def user(name, role, **profile):
        account = User.objects.create_user(name, password="x")
        Profile.objects.create(user=account, role=role, **profile)
        return account

    return {
        "solution": solution,
        "og": LegalEntity.objects.get(finess_ej=OG),
        "editeur": user("editeur", Role.EDITEUR, editor=editor),
        "autre_editeur": user("autre_editeur", Role.EDITEUR, editor=other_editor),
        "og_user": user("og", Role.PORTEUR, legal_entity=LegalEntity.objects.get(finess_ej=OG)),
        "cnsa": user("cnsa", Role.NATIONAL),
    }
