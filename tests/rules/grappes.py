"""Builds simulator inputs for tests: grappes of valid FINESS ET from a few lines of description."""

from __future__ import annotations

from typing import Any

from esms_numerique.rules.finess import with_key

OVERSEAS_PREFIX = {"971": "9701", "972": "9702", "973": "9703", "974": "9704", "976": "9805"}


def finess_for(department: str, serial: int) -> str:
    """A valid FINESS ET issued in `department` (INSEE code), distinct for each serial."""
    prefix = OVERSEAS_PREFIX.get(department, department)
    return with_key(f"{prefix}{serial:0{8 - len(prefix)}d}")


def expand_grappe(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{count: 46, department: "59", sector: PA, operation: acquisition, ...}] → ESSMS entries.
    Keys other than count/department/start are copied onto each ESSMS."""
    essms, serial = [], 100
    for group in groups:
        group = dict(group)
        count = group.pop("count")
        department = str(group.pop("department"))
        serial = group.pop("start", serial)
        for _ in range(count):
            essms.append({"finess_et": finess_for(department, serial), "department": department, **group})
            serial += 1
    return essms


def build_input(spec: dict[str, Any]) -> dict[str, Any]:
    data = dict(spec)
    grappe = data.pop("grappe", None)
    if grappe is not None:
        data["essms"] = expand_grappe(grappe) + list(data.get("essms", []))
    return data
