"""Properties every simulation must keep, on grappes hypothesis makes up."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esms_numerique.rules.inputs import SimulationInput
from esms_numerique.rules.simulator import simulate

from .grappes import finess_for

SECTORS = ["PA", "PH", "DOM", "PDS", "PDE", "AHI", "PJM"]
DEPARTMENTS = ["35", "44", "59", "75", "2A", "971"]


@st.composite
def essms_entries(draw, serial: int):
    department = draw(st.sampled_from(DEPARTMENTS))
    entry = {
        "finess_et": finess_for(department, serial),
        "department": department,
        "sector": draw(st.sampled_from(SECTORS)),
        "operation": draw(st.sampled_from(["acquisition", "upgrade"])),
        "og_essms_count": draw(st.integers(min_value=1, max_value=300)),
    }
    if draw(st.booleans()):
        total = draw(st.integers(min_value=1, max_value=5000))
        entry["saad_hours"] = {"medico_social": draw(st.integers(min_value=0, max_value=total)), "total": total}
    return entry


@st.composite
def projects(draw, max_essms: int = 70):
    count = draw(st.integers(min_value=1, max_value=max_essms))
    essms = [draw(essms_entries(serial)) for serial in range(count)]
    return {
        "campaign": draw(st.sampled_from(["2022", "2024"])),
        "filed_on": draw(st.sampled_from(["2022-05-02", "2024-03-10", "2024-07-01"])),
        "porteur": {"vat_regime": "HT", "is_ght": False},
        "solution": {
            "segur_referenced": draw(st.booleans()),
            "sad_referenced": draw(st.booleans()),
        },
        "essms": essms,
        "equipment": {"quotes_eur": draw(st.integers(0, 400_000)), "spent_eur": draw(st.integers(0, 400_000))},
        "amoa_eur": draw(st.integers(0, 200_000)),
    }


def run(data: dict):
    return simulate(SimulationInput.model_validate(data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_amounts_are_never_negative_and_lines_add_up(data):
    result = run(data)
    assert all(line.amount_eur >= 0 for line in result.lines)
    for rule, total in [
        ("F-USAGE", result.usage_eur),
        ("F-SOFTWARE", result.software_eur),
        ("F-EQUIP", result.equipment_eur),
        ("F-AMOA", result.amoa_eur),
    ]:
        assert sum(line.amount_eur for line in result.lines if line.rule == rule) == total
    assert result.total_eur == result.usage_eur + result.software_eur + result.equipment_eur + result.amoa_eur
    assert result.advance_eur + result.balance_eur == result.total_eur
    assert 0 <= result.advance_eur <= result.balance_eur
    ranks = sorted(line.rank for line in result.lines if line.rule == "F-USAGE")
    assert ranks == list(range(1, len(ranks) + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects(max_essms=60), st.data())
def test_adding_an_essms_never_lowers_the_total(data, more):
    before = run(data)
    extra = more.draw(essms_entries(serial=len(data["essms"]) + 1000))
    after = run({**data, "essms": [*data["essms"], extra]})
    assert after.total_eur >= before.total_eur
    assert after.usage_eur + after.software_eur >= before.usage_eur + before.software_eur


def test_a_grappe_turning_medico_social_does_not_unfund_its_other_essms():
    """2022, SAD solution: 1 PDE acquisition + 1 PH upgrade, then a PA upgrade joins (share 50 % → 67 %)."""
    base = {
        "campaign": "2022",
        "filed_on": "2022-05-02",
        "solution": {"sad_referenced": True},
        "essms": [
            {"finess_et": finess_for("59", 1), "sector": "PDE", "operation": "acquisition"},
            {"finess_et": finess_for("59", 2), "sector": "PH", "operation": "upgrade"},
        ],
    }
    before = run(base)
    after = run(
        {**base, "essms": [*base["essms"], {"finess_et": finess_for("59", 3), "sector": "PA", "operation": "upgrade"}]}
    )
    assert before.total_eur == after.total_eur == 7000 + 12000
