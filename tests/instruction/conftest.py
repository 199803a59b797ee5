"""A multiregional grappe: 6 ESSMS in Ille-et-Vilaine (Bretagne, 53, the pivot) and 4 in Paris (Île-de-France, 11),
all of the porteur's OG; an ARS instructor and a colleague in each region, CNSA, GRADeS, and two experts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from esms_numerique.accounts.enums import Role
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.instruction.enums import ExpertKind
from esms_numerique.instruction.models import Expert
from esms_numerique.registry.services import import_extracts
from tests.dossiers.conftest import GRAPPE_FINESS, PORTEUR_EJ, attach_pieces, make_user
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for

BZH = GRAPPE_FINESS[:6]
IDF = [finess_for("75", n) for n in range(4)]


@pytest.fixture(autouse=True)
def campaign_2024(settings):
    settings.ESMS_TODAY = "2024-03-11"


@pytest.fixture
def registry(db):
    lines = [et_line(f, finess_ej=PORTEUR_EJ, name=f"EHPAD BRETON {n}") for n, f in enumerate(BZH)]
    lines += [et_line(f, finess_ej=PORTEUR_EJ, department="75", name=f"EHPAD PARISIEN {n}") for n, f in enumerate(IDF)]
    import_extracts("et.csv", extract(*lines))


@pytest.fixture
def users(registry):
    found = {
        "porteur": make_user("porteur", Role.PORTEUR, ej=PORTEUR_EJ),
        "ars": make_user("ars_bretagne", Role.ARS, region="53"),
        "collegue": make_user("ars_bretagne_2", Role.ARS, region="53"),
        "autre_ars": make_user("ars_idf", Role.ARS, region="11"),
        "ars_occitanie": make_user("ars_occitanie", Role.ARS, region="76"),
        "national": make_user("cnsa", Role.NATIONAL),
        "observateur": make_user("grades_bretagne", Role.OBSERVER, region="53"),
        "expert": make_user("expert_cd35", None),
        "expert_grades": make_user("expert_grades", Role.OBSERVER, region="53"),
        "sans_role": make_user("sans_role", None),
        "admin": User.objects.create_superuser("admin", password="x"),
    }
    for user in found.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    Expert.objects.create(
        user=found["expert"], kind=ExpertKind.DEPARTEMENT, organisation="Conseil départemental d'Ille-et-Vilaine"
    )
    Expert.objects.create(user=found["expert_grades"], kind=ExpertKind.GRADES, organisation="GIP e-santé", region="53")
    return found


def grappe(numbers) -> dict:
    return {
        "porteur": {"finess_ej": PORTEUR_EJ, "vat_regime": "TTC"},
        "solution": {"segur_referenced": True, "name": "DUI Synthétique 5.0", "editor": "Éditeur synthétique"},
        "operation": "acquisition",
        "essms": [{"finess_et": f} for f in numbers],
    }


def filed(porteur, numbers=(*BZH, *IDF), title: str = "Grappe multirégionale"):
    dossier = attach_pieces(porteur, create_dossier(porteur, title, "2024", grappe(numbers)))
    return apply_transition(porteur, dossier, "deposer", dossier.version)


@pytest.fixture
def multiregional(users):
    return filed(users["porteur"])


def html(response) -> str:
    """The page's text with its entities decoded (« n'instruit », not « n&#x27;instruit »)."""
    import html as entities

    return entities.unescape(response.content.decode())
