"""The simulator as the platform runs it: the input is first completed from the FINESS registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from esms_numerique.rules.errors import decode_json, parse
from esms_numerique.rules.inputs import SimulationInput
from esms_numerique.rules.simulator import SimulationResult, simulate

from .services import complete_from_registry


def _filed_day(data: dict[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(data.get("filed_on"))[:10])
    except ValueError:
        return None


def simulate_with_registry(data: str | bytes | dict[str, Any]) -> SimulationResult:
    """Raises InputError (French, naming the field) when the input stays incomplete or malformed."""
    if not isinstance(data, dict):
        data = decode_json(data)
    completed, findings = complete_from_registry(data, _filed_day(data))
    return simulate(parse(SimulationInput, completed), registry_findings=findings)
