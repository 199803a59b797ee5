"""What the dossier lifecycle asks of the usage measurements: « enregistrer les cibles atteintes » needs the last
measurement to meet every target of every funded ESSMS (U-*, F-PAY). Registered on the dossier workflow by this
app, so that dossiers does not depend on indicators."""

from __future__ import annotations

from typing import Any

from esms_numerique.dossiers.workflow import WORKFLOW, DossierError

from .services import final_status


@WORKFLOW.guard("usage_targets_met")
def usage_targets_met(dossier, data: dict[str, Any]) -> None:
    status = final_status(dossier)
    if status["all_met"]:
        data["_targets_met_on"] = status["date"]
        return
    if status["date"] is None:
        raise DossierError(
            "Aucune mesure d'usage déposée : le porteur dépose le résultat du calcul des indicateurs "
            "(esms indicateurs calculer)."
        )
    details = [f"{f} sans mesure" for f in status["missing"]] + [
        f"{f} : {', '.join(rules)}" for f, rules in status["unmet"].items()
    ]
    raise DossierError(f"Cibles non atteintes à la mesure du {status['date']:%d/%m/%Y} : " + " ; ".join(details) + ".")


@WORKFLOW.effect("usage_targets_met_on")
def usage_targets_met_on(dossier, data: dict[str, Any]) -> dict[str, Any]:
    return {"targets_met_on": data["_targets_met_on"]}
