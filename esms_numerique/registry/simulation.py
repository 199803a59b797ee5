"""The simulators as the platform runs them: on the platform's date, the input first completed from the FINESS
registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from esms_numerique import clock
from esms_numerique.rules.errors import InputError, decode_json, parse
from esms_numerique.rules.finess import normalize, problem
from esms_numerique.rules.inputs import SimulationInput, SonsInput
from esms_numerique.rules.results import Finding, Verdict
from esms_numerique.rules.simulator import SimulationResult, simulate
from esms_numerique.rules.sons import SonsResult, simulate_sons

from .models import Establishment
from .services import complete_from_registry, registry_snapshot

SRC_SONS_ELIG = "HDF22 « Systeme Ouvert Non Sélectif — POUR QUI ? » (000_69ee26d990822291.txt) ; SONS23"


def _day(data: dict[str, Any], key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(data.get(key))[:10])
    except ValueError:
        return None


def simulate_with_registry(data: str | bytes | dict[str, Any], today: dt.date | None = None) -> SimulationResult:
    """Raises InputError (French, naming the field) when the input stays incomplete or malformed. `today`: the
    platform's date unless given (a project without filing date is read on it)."""
    if not isinstance(data, dict):
        data = decode_json(data)
    completed, findings = complete_from_registry(data, _day(data, "filed_on"))
    refuse_unreadable_numbers(completed)
    return simulate(parse(SimulationInput, completed), registry_findings=findings, today=today or clock.today())


def refuse_unreadable_numbers(data: dict[str, Any]) -> None:
    """InputError naming what is wrong with the porteur's FINESS EJ, and with each FINESS ET given alone that the
    registry could not complete (E-FINESS): its key or shape, rather than the sector it then lacks. An ESSMS
    described in full keeps its E-FINESS finding instead (the rest of the grappe is still simulated)."""
    errors = []
    porteur = data.get("porteur")
    if isinstance(porteur, dict) and porteur.get("finess_ej"):
        wrong = problem(str(porteur["finess_ej"]))
        if wrong:
            errors.append(f"champ « porteur.finess_ej » : le FINESS EJ du porteur « {porteur['finess_ej']} » {wrong}")
    essms = data.get("essms")
    for index, entry in enumerate(essms if isinstance(essms, list) else []):
        if not isinstance(entry, dict) or entry.get("sector") or not entry.get("finess_et"):
            continue
        wrong = problem(str(entry["finess_et"]))
        if wrong:
            errors.append(f"champ « essms[{index}].finess_et » : le FINESS ET « {entry['finess_et']} » {wrong}")
    if errors:
        raise InputError(errors)


def sons_essms_from_registry(numbers: list[str], on: dt.date) -> tuple[list[dict[str, str]], list[Finding]]:
    """Sector and category of ordered ESSMS (FINESS ET) in the registry extract in force on `on`, as S-ELIG reads
    them ({"finess_et", "sector", "category", "category_label"}; "" where the registry has none). An ESSMS the
    registry does not know is left out, with a finding."""
    snapshot = registry_snapshot(on)
    wanted = list(dict.fromkeys(normalize(str(n)) for n in numbers))
    if snapshot is None:
        return [], [
            Finding(
                "S-ELIG",
                Verdict.A_APPRECIER,
                "Le répertoire FINESS ne contient aucune extraction : le secteur des ESSMS commandés n'est pas "
                "vérifié. Indiquez-le dans « essms », ou importez une extraction (esms finess import).",
                SRC_SONS_ELIG,
            )
        ]
    found = {e.finess_et: e for e in Establishment.objects.open_on(snapshot.snapshot_date).filter(finess_et__in=wanted)}
    source = f"Répertoire FINESS, extraction du {snapshot.snapshot_date:%d/%m/%Y} ({snapshot.source_name})"
    described, findings = [], []
    for number in wanted:
        known = found.get(number)
        if known is None:
            findings.append(
                Finding(
                    "S-ELIG",
                    Verdict.A_APPRECIER,
                    f"L'ESSMS {number} n'est pas dans le répertoire à la date de l'extraction : son secteur, donc son "
                    "couloir, n'est pas vérifié.",
                    f"{SRC_SONS_ELIG} ; {source}",
                    number,
                )
            )
            continue
        described.append(
            {
                "finess_et": number,
                "sector": known.effective_sector or "",
                "category": known.category,
                "category_label": known.category_label,
            }
        )
    return described, findings


def complete_sons_from_registry(data: dict[str, Any], on: dt.date) -> tuple[dict[str, Any], list[Finding]]:
    """Adds to a SONS order the registry's sector and category of each ordered ESSMS the order does not describe
    (`essms`); what the order gives wins."""
    given = data.get("essms") if isinstance(data.get("essms"), list) else []
    described = {normalize(str(e.get("finess_et", ""))) for e in given if isinstance(e, dict) and e.get("sector")}
    ordered = data.get("finess_et") if isinstance(data.get("finess_et"), list) else []
    missing = [n for n in ordered if normalize(str(n)) not in described]
    if not missing:
        return data, []
    found, findings = sons_essms_from_registry(missing, on)
    missing_numbers = {normalize(str(n)) for n in missing}
    by_number = {e["finess_et"]: e for e in found}
    essms = []
    for entry in given:
        if not isinstance(entry, dict) or entry.get("sector"):
            essms.append(entry)  # described by the order (or malformed: parse() says where)
            continue
        number = normalize(str(entry.get("finess_et", "")))
        registry = by_number.pop(number, None)
        if registry is not None:
            essms.append({**entry, **{k: v for k, v in registry.items() if entry.get(k) in (None, "")}})
        elif number not in missing_numbers:
            essms.append(entry)  # not ordered: parse() refuses it
    essms += by_number.values()
    return {**data, "essms": essms}, findings


def sons_with_registry(data: str | bytes | dict[str, Any], today: dt.date | None = None) -> SonsResult:
    """A SONS order simulated on the platform's date, each ordered ESSMS described by the registry extract in
    force on the order date (S-ELIG by couloir). Raises InputError like simulate_with_registry."""
    if not isinstance(data, dict):
        data = decode_json(data)
    today = today or clock.today()
    completed, findings = complete_sons_from_registry(data, _day(data, "ordered_on") or today)
    return simulate_sons(parse(SonsInput, completed), today=today, registry_findings=findings)
