"""S-ELIG by couloir: each ESSMS is ordered in the couloir of its own sector (the registry's)."""

from __future__ import annotations

import datetime as dt

import pytest

from esms_numerique.rules.errors import InputError, parse
from esms_numerique.rules.inputs import SonsInput
from esms_numerique.rules.parameters import default_tree
from esms_numerique.rules.results import Verdict
from esms_numerique.rules.sons import couloir_eligibility

ON = dt.date(2023, 9, 1)
MECS = {"finess_et": "350001234", "sector": "PDE", "category": "177", "category_label": "MECS"}
CHRS = {"finess_et": "350001234", "sector": "AHI", "category": "214", "category_label": "CHRS"}
CADA = {"finess_et": "350001234", "sector": "AHI", "category": "443", "category_label": "CADA"}
CSAPA = {"finess_et": "350001234", "sector": "PDS", "category": "197", "category_label": "CSAPA"}
MJPM = {"finess_et": "350001234", "sector": "PJM", "category": "340", "category_label": "Service mandataire"}
EHPAD = {"finess_et": "350000022", "sector": "PA", "category": "500", "category_label": "EHPAD"}


def blocking(findings) -> list[tuple[str | None, str]]:
    return [(f.finess_et, f.message) for f in findings if f.verdict == Verdict.BLOQUANT]


@pytest.mark.parametrize(
    ("couloir", "essms"),
    [("MS2", MECS), ("MS3", CHRS), ("MS3", CADA), ("MS2", CSAPA), ("MS3", MJPM), ("MS1", EHPAD)],
    ids=["MECS en MS2", "CHRS en MS3", "CADA en MS3", "CSAPA en MS2", "mandataire en MS3", "EHPAD en MS1"],
)
def test_an_essms_in_the_couloir_of_its_sector_is_eligible(couloir, essms):
    findings = couloir_eligibility(couloir, None, [essms], ON)
    assert blocking(findings) == []
    assert [(f.rule, f.verdict) for f in findings] == [("S-ELIG", Verdict.OK)]


@pytest.mark.parametrize(
    ("couloir", "essms", "message"),
    [
        ("MS1", CHRS, "L'ESSMS 350001234 (catégorie 214 CHRS, secteur AHI) relève du couloir MS3, pas de MS1."),
        ("MS1", CADA, "L'ESSMS 350001234 (catégorie 443 CADA, secteur AHI) relève du couloir MS3, pas de MS1."),
        ("MS1", CSAPA, "L'ESSMS 350001234 (catégorie 197 CSAPA, secteur PDS) relève du couloir MS2, pas de MS1."),
        (
            "MS1",
            MJPM,
            "L'ESSMS 350001234 (catégorie 340 Service mandataire, secteur PJM) relève du couloir MS3, pas de MS1.",
        ),
        ("MS3", MECS, "L'ESSMS 350001234 (catégorie 177 MECS, secteur PDE) relève du couloir MS2, pas de MS3."),
    ],
)
def test_an_essms_outside_the_couloir_of_its_sector_is_refused_with_the_right_couloir(couloir, essms, message):
    findings = couloir_eligibility(couloir, None, [essms], ON)
    assert blocking(findings) == [("350001234", message)]
    assert all(f.rule == "S-ELIG" for f in findings)
    assert "SONS23" in findings[0].source and "D-SONS-COULOIR" in findings[0].source


def test_an_establishment_without_sector_is_not_an_essms_of_the_programme():
    hospital = {"finess_et": "350001004", "sector": "", "category": "355", "category_label": "Centre hospitalier"}
    unknown = {"finess_et": "350001012", "sector": "", "category": "", "category_label": ""}
    assert blocking(couloir_eligibility("MS1", None, [hospital, unknown], ON)) == [
        (
            "350001004",
            "L'ESSMS 350001004 (catégorie 355 Centre hospitalier) n'a pas de secteur du programme : ce n'est pas "
            "un ESSMS du programme, il ne peut pas faire l'objet d'une Prestation Ségur.",
        ),
        (
            "350001012",
            "L'ESSMS 350001012 (catégorie inconnue) n'a pas de secteur du programme : ce n'est pas un ESSMS du "
            "programme, il ne peut pas faire l'objet d'une Prestation Ségur.",
        ),
    ]


def test_the_typed_sector_may_only_agree_with_the_registry():
    assert blocking(couloir_eligibility("MS2", "PDE", [MECS], ON)) == []
    refused = blocking(couloir_eligibility("MS2", "PDS", [MECS], ON))
    assert [number for number, _ in refused] == ["350001234"]
    assert "est du secteur PDE au répertoire FINESS, pas PDS comme l'indique la commande" in refused[0][1]


def test_a_typed_sector_the_couloir_does_not_serve_is_refused():
    assert blocking(couloir_eligibility("MS1", "AHI", [], ON)) == [
        (None, "Le secteur AHI indiqué sur la commande relève du couloir MS3, pas de MS1 (qui sert PA, PH, DOM).")
    ]
    assert blocking(couloir_eligibility("MS1", "PA", [], ON)) == []
    assert couloir_eligibility("MS1", None, [], ON) == []


def test_the_sons_calendar_and_the_sector_table_give_the_same_couloirs():
    """S-ELIG reads sectors.yaml; S-CALENDAR's rows name the sectors of each couloir too: they must agree."""
    tree = default_tree()
    couloir_of = {row["code"]: row["couloir"] for row in tree.get("sectors.sectors").in_force(ON).value}
    rows = tree.get("sons/calendar.couloirs").in_force(ON).value
    calendar = {sector: row["couloir"] for row in rows for sector in row["sectors"]}
    assert calendar == couloir_of


def test_described_essms_must_be_ordered():
    with pytest.raises(InputError) as raised:
        parse(
            SonsInput,
            {"couloir": "MS1", "og_essms_count": 3, "finess_et": ["350000022"], "essms": [{**MECS, "sector": "XX"}]},
        )
    assert any("essms[0].sector" in m for m in raised.value.messages), raised.value.messages
    with pytest.raises(InputError) as raised:
        parse(SonsInput, {"couloir": "MS1", "og_essms_count": 3, "finess_et": ["350000022"], "essms": [MECS]})
    assert raised.value.messages == [
        "champ « essms » : essms[0] : l'ESSMS 350001234 n'est pas dans la liste finess_et"
    ], raised.value.messages
