"""The parameter loader refuses what a careless edit would slip in, and the real tree is sound."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from esms_numerique.rules.parameters import PARAMETERS_DIR, ParameterError, default_tree, load_tree

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"

GOOD = """\
description: Un concept
last_value_still_valid_on: 2024-09-15
parameters:
  full_rate:
    description: Par ESSMS
    unit: EUR
    values:
      2024-01-15:
        value: 7000
        reference: {text: AAP24, section: "3.3.2"}
"""


def tree_with(tmp_path: Path, text: str):
    shutil.copy(PARAMETERS_DIR / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "concept.yaml").write_text(text, encoding="utf-8")
    return load_tree(tmp_path)


def test_a_well_formed_file_loads_with_its_reference(tmp_path):
    parameter = tree_with(tmp_path, GOOD).get("concept.full_rate")
    value = parameter.at(dt.date(2024, 3, 1))
    assert value.value == 7000
    assert value.reference.file == "001_098b5f25fa5a095c.txt"
    assert parameter.at(dt.date(2023, 12, 31)) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("    unit: EUR\n", "    unit: EUR\n    colour: red\n"), "clé(s) inconnue(s) ['colour']"),
        (
            lambda t: t.replace("        value: 7000\n", "        value: 7000\n        value: 8000\n"),
            "clé « value » en double",
        ),
        (
            lambda t: t.replace('        reference: {text: AAP24, section: "3.3.2"}\n', ""),
            "clé(s) manquante(s) ['reference']",
        ),
        (lambda t: t.replace("text: AAP24", "text: AAP99"), "texte de référence inconnu « AAP99 »"),
        (lambda t: t.replace("value: 7000", "value: 7000.5"), "ne correspond pas à l'unité « EUR »"),
        (lambda t: t.replace("value: 7000", "value: -1"), "ne correspond pas à l'unité « EUR »"),
        (lambda t: t.replace("unit: EUR", "unit: dollars"), "unité inconnue « dollars »"),
        (lambda t: t.replace("value: 7000", "value: null"), "valeur vide sans « note »"),
        (lambda t: t.replace("last_value_still_valid_on: 2024-09-15\n", ""), "last_value_still_valid_on"),
        (lambda t: t.replace('section: "3.3.2"', 'section: " "'), "section de référence vide"),
    ],
)
def test_a_careless_edit_is_refused_at_start_up(tmp_path, change, message):
    with pytest.raises(ParameterError) as raised:
        tree_with(tmp_path, change(GOOD))
    assert message in str(raised.value)


def test_share_units_stay_between_zero_and_one(tmp_path):
    text = GOOD.replace("unit: EUR", "unit: share").replace("value: 7000", "value: 50")
    with pytest.raises(ParameterError, match="unité « share »"):
        tree_with(tmp_path, text)


def test_region_specific_value_overrides_the_default():
    floor = default_tree().get("esms_numerique/2022/eligibility/min_size.hard_floor_essms")
    on = dt.date(2022, 5, 1)
    assert floor.at(on).value == 0
    assert floor.at(on, region="11").value == 10
    assert floor.at(on, region="11").reference.text == "FAQIDF"
    assert floor.at(on, region="53").value == 0


def test_every_value_cites_an_existing_seed_or_a_written_decision():
    decisions = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    for file in default_tree().files.values():
        for parameter in file.parameters.values():
            for value in [*parameter.values, *(v for vs in parameter.regions.values() for v in vs)]:
                ref = value.reference
                if ref.text == "DECISION":
                    decision = re.match(r"D-[A-Z0-9-]+", ref.section).group(0)
                    assert f"## {decision} " in decisions, decision
                elif ref.file and SEEDS.exists():
                    assert (SEEDS / ref.file).exists(), ref


def test_decisions_cited_are_written_down_and_every_written_one_is_used():
    decisions = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "esms_numerique").rglob("*.py"))
    cited = set(re.findall(r"\b(D-[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)*)", code))
    params = "\n".join(p.read_text(encoding="utf-8") for p in PARAMETERS_DIR.rglob("*.yaml"))
    cited |= set(re.findall(r"section: \"(D-[A-Z0-9-]+)", params))
    written = set(re.findall(r"^## (D-[A-Z0-9-]+) ", decisions, flags=re.MULTILINE))
    assert cited == written, (cited - written, written - cited)


def test_both_campaigns_have_the_same_shape():
    tree = default_tree()
    shapes = {}
    for campaign in ("2022", "2024"):
        prefix = f"esms_numerique/{campaign}/"
        shapes[campaign] = {
            (key[len(prefix) :], name)
            for key, file in tree.files.items()
            if key.startswith(prefix)
            for name in file.parameters
        }
    only_2022 = shapes["2022"] - shapes["2024"]
    only_2024 = shapes["2024"] - shapes["2022"]
    # 2022 alone has the SAD software rates and monthly usage measures; 2024 alone has the SONS VA date and the
    # Annexe 2 pieces.
    assert only_2022 == {
        ("funding/software", "unreferenced_full_rate"),
        ("funding/software", "unreferenced_volume_rate"),
        ("usage_targets", "series_window_months"),
    }
    assert only_2024 == {
        ("eligibility/sons_va", "va_not_before"),
        ("eligibility/pieces", "standard"),
        ("eligibility/pieces", "conditional"),
    }
