"""The rules core run on a dossier's grappe with what the platform knows (its pieces, the ledger of funded ESSMS),
and the dossier's rows in that ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import LedgerState, Scheme
from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError
from esms_numerique.rules.results import Finding, Verdict

from .enums import State
from .models import Dossier
from .workflow import ENDED, PAID

SRC_DOUBLE = "AAP24 3.2.A (001_098b5f25fa5a095c.txt) ; FAQN Q9, Q30 ; FAQIDF ; DECISION D-LEDGER (docs/decisions.md)"


def _finess_set(essms: list[Any]) -> set[str]:
    return {str(e.get("finess_et", "")).strip().upper() for e in essms if isinstance(e, dict)}


def _with_sons_facts(essms: list[Any], facts: dict[str, dict[str, Any]]) -> list[Any]:
    """The platform's own SONS orders for these ESSMS (ordered, VA date) complete what the porteur declares."""
    completed = []
    for entry in essms:
        fact = facts.get(str(entry.get("finess_et", "")).strip().upper()) if isinstance(entry, dict) else None
        if fact:
            entry = {
                **entry,
                "sons_order": True,
                "sons_va_date": entry.get("sons_va_date")
                or (fact["sons_va_date"] and fact["sons_va_date"].isoformat()),
            }
        completed.append(entry)
    return completed


def evaluate(
    grappe: dict[str, Any], on: dt.date, pieces: list[str] | None = None, dossier: Dossier | None = None
) -> dict[str, Any]:
    """Runs the rules core on the grappe as if filed on `on`, with the pieces joined so far (E-PIECES) and what the
    ledger knows (E-NO-DOUBLE: fundings other dossiers hold, SONS orders; other filed dossiers with the same ESSMS);
    an incomplete grappe gives its errors."""
    wanted = _finess_set(grappe.get("essms", []))
    data = {**grappe, "filed_on": on.isoformat()}
    data["essms"] = _with_sons_facts(grappe.get("essms", []), ledger.sons_facts(wanted) if wanted else {})
    known = ledger.esms_numerique_fundings(wanted, dossier=dossier) if wanted else []
    if known:
        data["previous_fundings"] = [*grappe.get("previous_fundings", []), *known]
    if pieces is not None:
        data["pieces"] = pieces
    try:
        result = simulate_with_registry(data)
    except InputError as error:
        return {"errors": error.messages, "findings": []}
    outcome = result.as_dict()
    outcome["findings"] += _filed_elsewhere(wanted, dossier)
    return outcome


def _filed_elsewhere(wanted: set[str], dossier: Dossier | None) -> list[dict[str, Any]]:
    """E-NO-DOUBLE across the platform, before any decision: an ESSMS also in another filed dossier. Not blocking
    at filing (only one of them can be retained: the committee sees it); refused at « retenir »."""
    others = ledger.filed_elsewhere(wanted, dossier=dossier) if wanted else {}
    return [
        Finding(
            "E-NO-DOUBLE",
            Verdict.A_APPRECIER,
            f"Cet ESSMS figure aussi dans le dossier {', '.join(references)}, déposé : un seul des deux pourra être "
            "retenu (un FINESS géographique, un financement).",
            SRC_DOUBLE,
            finess,
        ).as_dict()
        for finess, references in sorted(others.items())
    ]


def piece_codes(dossier: Dossier) -> list[str]:
    return sorted(set(dossier.pieces.values_list("code", flat=True)))


def ledger_state(dossier: Dossier) -> str:
    state = State(dossier.state)
    if state == State.BROUILLON:
        return LedgerState.PLANNED
    if state in (State.NON_RECEVABLE, State.NON_RETENU) or state in ENDED:
        return LedgerState.RELEASED
    if state == State.RETENU:
        return LedgerState.RETAINED
    if state in (State.ENGAGE, State.CONVENTION_SIGNEE, State.AVANCE_DEMANDEE):
        return LedgerState.ENGAGED
    if state in PAID or (state == State.CLOS and dossier.advance_paid_eur):
        return LedgerState.PAID
    if state == State.CLOS:
        return LedgerState.RELEASED
    return LedgerState.FILED


def ledger_lines(dossier: Dossier) -> list[ledger.Line]:
    result = dossier.filed_result or dossier.result or {}
    amounts: dict[str, int] = {}
    for line in result.get("lines", []):
        if line.get("finess_et"):
            amounts[line["finess_et"]] = amounts.get(line["finess_et"], 0) + line["amount_eur"]
    return [
        ledger.Line(
            finess_et=e["finess_et"],
            operation=e.get("operation") or "",
            funding_key=ledger.ESMS_NUMERIQUE_KEY,
            fundable=bool(e.get("fundable", True)),
            rank=e.get("rank"),
            amount_eur=amounts.get(e["finess_et"]),
        )
        for e in result.get("essms", [])
        if e.get("finess_et")
    ]


def record_ledger(dossier: Dossier, *_: Any) -> None:
    """The dossier's ESSMS as they stand now in the ledger (after a grappe edit, a filing, each decision)."""
    ledger.record(
        scheme=Scheme.ESMS_NUMERIQUE, state=ledger_state(dossier), lines=ledger_lines(dossier), dossier=dossier
    )
