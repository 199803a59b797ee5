"""A registry in Bretagne and Paris, an éditeur per region with a referenced MS1 solution, one user per role and
one write token each, for the partner API's tests."""

from __future__ import annotations

import json

import pytest

from esms_numerique.accounts.enums import Role
from esms_numerique.partners.tokens import create_token
from esms_numerique.registry.models import LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.sons.models import Editor, Solution
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for
from tests.test_route_access_matrix import OG_BZH, OG_IDF, PDF, grappe, make_user, pieces_of

BZH = [finess_for("35", n) for n in range(20)]
IDF = [finess_for("75", n) for n in range(5)]
__all__ = ["BZH", "IDF", "OG_BZH", "OG_IDF", "PDF", "grappe", "make_user", "pieces_of"]


@pytest.fixture
def world(db):
    lines = [et_line(n, finess_ej=OG_BZH) for n in BZH] + [et_line(n, finess_ej=OG_IDF, department="75") for n in IDF]
    import_extracts("et.csv", extract(*lines, meta="finess;etalab;1;2023-01-03"))
    bzh, idf = LegalEntity.objects.get(finess_ej=OG_BZH), LegalEntity.objects.get(finess_ej=OG_IDF)
    editor = Editor.objects.create(name="Éditeur synthétique", siret="73282932000074")
    other_editor = Editor.objects.create(name="Autre éditeur", siret="35600000000048")
    solutions = {
        e.pk: Solution.objects.create(editor=e, name="DUI", version="5.0", couloir="MS1", referencing="reference")
        for e in (editor, other_editor)
    }
    users = {
        "porteur": make_user("porteur", Role.PORTEUR, legal_entity=bzh),
        "autre_porteur": make_user("autre_porteur", Role.PORTEUR, legal_entity=idf),
        "ars": make_user("ars_bretagne", Role.ARS, region="53"),
        "autre_ars": make_user("ars_idf", Role.ARS, region="11"),
        "national": make_user("cnsa", Role.NATIONAL),
        "editeur": make_user("editeur", Role.EDITEUR, editor=editor),
        "autre_editeur": make_user("autre_editeur", Role.EDITEUR, editor=other_editor),
        "sans_role": make_user("sans_role"),
    }
    tokens = {role: create_token(user, "tests", "ecriture", None).secret for role, user in users.items()}
    return {
        "users": users,
        "tokens": tokens,
        "solution": solutions[editor.pk],
        "other_solution": solutions[other_editor.pk],
        "bzh": bzh,
        "idf": idf,
    }


class Api:
    """The test client speaking to the API with a role's token."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, url: str, **params):
        return self.client.get(url, params, headers=self.headers)

    def post(self, url: str, data=None):
        return self.client.post(url, json.dumps(data or {}), content_type="application/json", headers=self.headers)

    def upload(self, url: str, **fields):
        return self.client.post(url, fields, headers=self.headers)


@pytest.fixture
def as_role(client, world):
    return lambda role: Api(client, world["tokens"][role])
