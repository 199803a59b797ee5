"""The guards and effects the dossier lifecycle names (dossiers/workflow.py). A guard raises DossierError with
the reason in French; an effect returns the fields the transition sets. They run inside the transaction that
writes the change, with the dossier's row locked (workflow/engine.py)."""

from __future__ import annotations

from typing import Any

from esms_numerique import clock
from esms_numerique.ledger import services as ledger
from esms_numerique.rules.context import CampaignContext
from esms_numerique.rules.money import share_eur

from .evaluation import evaluate, ledger_lines, piece_codes
from .models import Dossier
from .workflow import WORKFLOW, DossierError


def _admissible(dossier: Dossier, data: dict[str, Any], on, action: str) -> None:
    result = evaluate(dossier.grappe, on, piece_codes(dossier), dossier)
    if result.get("errors"):
        raise DossierError("La grappe est incomplète : " + " ; ".join(result["errors"]))
    blocking = [f for f in result["findings"] if f["verdict"] == "bloquant"]
    if blocking:
        rules = ", ".join(sorted({f["rule"] for f in blocking}))
        raise DossierError(f"{action} impossible tant que des constats sont bloquants ({rules}).")
    data["_result"] = result


@WORKFLOW.guard("filing_admissible")
def filing_admissible(dossier: Dossier, data: dict[str, Any]) -> None:
    """E-WINDOW and every blocking finding, on the day of filing."""
    _admissible(dossier, data, clock.today(), "Dépôt")


@WORKFLOW.guard("complement_admissible")
def complement_admissible(dossier: Dossier, data: dict[str, Any]) -> None:
    """A complement is read on the first filing date: the window governs the first filing only, the dialogue
    with the ARS goes on after it (AAP24 §8; docs/decisions.md, D-COMPLEMENT)."""
    _admissible(dossier, data, dossier.filed_at.date(), "Envoi du complément")


def _frozen(data: dict[str, Any]) -> dict[str, Any]:
    """The result read by the guard becomes the dossier's live and frozen result, with its desk and pivot."""
    result = data["_result"]
    return {"result": result, "filed_result": result, "desk": result["desk"], "pivot_region": result["pivot_region"]}


@WORKFLOW.effect("file")
def file(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    return {**_frozen(data), "filed_at": clock.now()}


@WORKFLOW.effect("complete")
def complete(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    """The frozen result follows the completed grappe; the filing date does not move (D-COMPLEMENT)."""
    return {**_frozen(data), "completed_at": clock.now()}


@WORKFLOW.guard("no_double_funding")
def no_double_funding(dossier: Dossier, data: dict[str, Any]) -> None:
    """E-NO-DOUBLE across the platform: no ESSMS of the dossier may already be held by another dossier (or, for an
    acquisition, by a SONS order). The ESSMS are locked until the decision is written; the ledger's unique
    constraint backs it (docs/decisions.md, D-LEDGER)."""
    lines = ledger_lines(dossier)
    ledger.lock_essms({line.finess_et for line in lines})
    clashes = ledger.held_against(lines, dossier=dossier)
    if clashes:
        raise DossierError("E-NO-DOUBLE — un FINESS géographique, un financement : " + ledger.describe(clashes) + ".")


@WORKFLOW.effect("retain")
def retain(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    return {"engaged_eur": dossier.filed_result["total_eur"]}


@WORKFLOW.effect("engage")
def engage(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    return {"engagement_reference": data.get("engagement_reference") or ""}


@WORKFLOW.effect("sign_convention")
def sign_convention(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    return {"convention_signed_on": data.get("date") or clock.today()}


def advance_due(dossier: Dossier) -> int:
    """F-PAY: the campaign's advance share of the amount engaged."""
    share = CampaignContext(dossier.campaign, dossier.filed_at.date()).get("payment.advance_share")
    return share_eur(dossier.engaged_eur, share.value)


@WORKFLOW.effect("start_deployment")
def start_deployment(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    return {"deployment_started_on": data.get("date") or clock.today()}


@WORKFLOW.guard("targets_recorded")
def targets_recorded(dossier: Dossier, data: dict[str, Any]) -> None:
    if not dossier.targets_met_on:
        raise DossierError("Le solde suppose les cibles d'usage atteintes (U-*) : enregistrez-les d'abord.")
