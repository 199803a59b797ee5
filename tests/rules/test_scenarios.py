"""Runs the YAML scenarios of tests/rules/scenarios: inputs and the outcomes a programme officer expects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from esms_numerique.rules.errors import InputError, parse
from esms_numerique.rules.inputs import SimulationInput, SonsInput
from esms_numerique.rules.simulator import simulate
from esms_numerique.rules.sons import simulate_sons

from .grappes import build_input, finess_for

SCENARIOS_DIR = Path(__file__).parent / "scenarios"
# The caller's clock, read only by a scenario whose input has no date (a scenario may set its own `today`).
TODAY = dt.date(2024, 3, 11)

# Every rule the rules-core issue names must be exercised by at least one scenario.
REQUIRED_RULES = {
    "G-DESK",
    "G-PIVOT",
    "E-FINESS",
    "E-MIN-SIZE",
    "E-SEGUR",
    "E-SAAD",
    "E-HARDWARE",
    "E-WINDOW",
    "E-SONS-VA",
    "E-NO-DOUBLE",
    "E-PIECES",
    "F-COUNT",
    "F-USAGE",
    "F-SOFTWARE",
    "F-SAAD",
    "F-EQUIP",
    "F-AMOA",
    "F-VAT",
    "F-PAY",
    "S-BAREME",
    "S-ELIG",
}


def load_scenarios() -> list[tuple[str, dict]]:
    scenarios = []
    for path in sorted(SCENARIOS_DIR.glob("*.yaml")):
        for scenario in yaml.safe_load(path.read_text(encoding="utf-8")):
            scenarios.append((f"{path.stem}: {scenario['name']}", scenario))
    return scenarios


SCENARIOS = load_scenarios()


def run(scenario: dict) -> dict:
    today = scenario.get("today", TODAY)
    if scenario.get("kind") == "sons":
        data = dict(scenario["input"])
        count = data.pop("generate_finess", 0)
        data["finess_et"] = data.get("finess_et", []) + [finess_for("59", 100 + i) for i in range(count)]
        return simulate_sons(parse(SonsInput, data), today=today).as_dict()
    return simulate(parse(SimulationInput, build_input(scenario["input"])), today=today).as_dict()


def plain(text: str) -> str:
    """Messages use French non-breaking spaces; scenarios are typed with plain ones."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def matches(finding: dict, expected: dict) -> bool:
    for key, value in expected.items():
        if key == "contains":
            if value not in plain(finding["message"]):
                return False
        elif finding.get(key) != value:
            return False
    return True


@pytest.mark.parametrize("scenario", [s for _, s in SCENARIOS], ids=[i for i, _ in SCENARIOS])
def test_scenario(scenario: dict) -> None:
    expected = dict(scenario["expected"])
    if "input_errors" in expected:
        with pytest.raises(InputError) as raised:
            run(scenario)
        for fragment in expected["input_errors"]:
            assert any(fragment in m for m in raised.value.messages), raised.value.messages
        return
    result = run(scenario)
    for finding in expected.pop("findings", []):
        assert any(matches(f, finding) for f in result["findings"]), (finding, result["findings"])
    for finding in expected.pop("absent_findings", []):
        assert not any(matches(f, finding) for f in result["findings"]), (finding, result["findings"])
    for line in expected.pop("lines", []):
        assert any(all(actual.get(k) == v for k, v in line.items()) for actual in result["lines"]), (
            line,
            result["lines"],
        )
    for key, value in expected.items():
        assert result[key] == value, (key, result[key], value)
    lines = result.get("lines", [])
    produced = {f["rule"] for f in result["findings"]} | {line["rule"] for line in lines}
    produced |= {"F-SAAD" for line in lines if line.get("prorata")}
    missing = set(scenario["rules"]) - produced
    assert not missing, f"le scénario annonce {missing} mais ces règles n'ont rien produit"


def test_every_required_rule_has_a_scenario() -> None:
    covered = {rule for _, scenario in SCENARIOS for rule in scenario["rules"]}
    assert REQUIRED_RULES - covered == set()
