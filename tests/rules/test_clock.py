"""The rules core reads dates only through the clock its caller passes (D-RULES-CLOCK)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from esms_numerique.rules import simulator
from esms_numerique.rules.context import LATEST, reading_date
from esms_numerique.rules.inputs import SimulationInput, SonsInput
from esms_numerique.rules.sons import simulate_sons

RULES_DIR = Path(simulator.__file__).parent
SYSTEM_CLOCK = re.compile(r"\b(?:date|datetime)\.(?:today|now|utcnow)\(|\btime\.time\(|\btimezone\.(?:now|localdate)\(")


def test_no_rules_module_reads_the_system_clock():
    readers = [
        f"{path.relative_to(RULES_DIR)}:{number}: {line.strip()}"
        for path in sorted(RULES_DIR.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SYSTEM_CLOCK.search(line)
    ]
    assert readers == []


def test_the_input_date_comes_first_then_the_callers_clock_then_the_latest_values():
    today = dt.date(2024, 3, 11)
    assert reading_date(dt.date(2022, 5, 2), today) == dt.date(2022, 5, 2)
    assert reading_date(dt.datetime(2024, 9, 15, 23, 59), today) == dt.date(2024, 9, 15)
    assert reading_date(None, today) == today
    assert reading_date(None, None) == LATEST


def _bareme_message(result) -> str:
    return next(f.message for f in result.findings if f.rule == "S-BAREME")


def test_a_sons_order_without_date_is_read_on_the_callers_clock():
    order = SonsInput(couloir="MS1", og_essms_count=35, finess_et=["350000022"])
    assert "base DREES du 3 janvier 2022" in _bareme_message(simulate_sons(order, today=dt.date(2022, 6, 1)))
    assert "première base FINESS publiée en 2023" in _bareme_message(simulate_sons(order, today=dt.date(2023, 6, 1)))
    dated = order.model_copy(update={"ordered_on": dt.date(2022, 6, 1)})
    assert "base DREES du 3 janvier 2022" in _bareme_message(simulate_sons(dated, today=dt.date(2023, 6, 1)))


@pytest.mark.parametrize(
    ("filed_on", "today", "read_on"),
    [
        (None, dt.date(2024, 3, 11), dt.date(2024, 3, 11)),
        (dt.date(2024, 5, 2), dt.date(2024, 3, 11), dt.date(2024, 5, 2)),
    ],
)
def test_a_project_without_filing_date_is_read_on_the_callers_clock(monkeypatch, filed_on, today, read_on):
    seen = []
    original = simulator.CampaignContext

    def spy(campaign, on, tree):
        seen.append(on)
        return original(campaign, on, tree)

    monkeypatch.setattr(simulator, "CampaignContext", spy)
    project = SimulationInput.model_validate(
        {
            "campaign": "2024",
            "filed_on": filed_on,
            "solution": {"segur_referenced": True},
            "essms": [{"finess_et": "350000022", "department": "35", "sector": "PA", "operation": "upgrade"}],
        }
    )
    simulator.simulate(project, today=today)
    assert seen == [read_on]
