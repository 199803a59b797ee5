"""A readable trace in French of what the rules decided, for `--explain` and the web page."""

from __future__ import annotations

from .money import format_eur
from .results import VERDICT_LABELS, Verdict
from .simulator import SimulationResult
from .sons import SonsResult

VERDICT_MARKS = {Verdict.BLOQUANT: "✗", Verdict.A_APPRECIER: "?", Verdict.OK: "✓"}
DESKS = {"regional": "régional (ARS)", "national": "national (CNSA et DNS)"}


def _findings(findings) -> list[str]:
    out = []
    for f in findings:
        where = f" [ESSMS {f.finess_et}]" if f.finess_et else ""
        out.append(f"  {VERDICT_MARKS[f.verdict]} {f.rule} · {VERDICT_LABELS[f.verdict]}{where}")
        out.append(f"      {f.message}")
        out.append(f"      Source : {f.source}")
    return out


def explain_simulation(result: SimulationResult) -> str:
    out = [result.campaign_label, ""]
    if result.desk:
        out.append(f"Guichet : {DESKS[result.desk]} — ARS pivot : {result.pivot_region_name} ({result.pivot_region})")
    out.append(f"ESSMS comptés (FINESS ET uniques) : {result.essms_count}")
    out.append("Recevabilité : " + ("aucun constat bloquant" if result.admissible else "constat(s) bloquant(s)"))
    out += ["", "Constats :"] + _findings(result.findings)
    out += ["", "Montants :"]
    for line in result.lines:
        who = f"ESSMS {line.finess_et} · rang {line.rank}" if line.finess_et else "projet"
        prorata = f" × {line.prorata}" if line.prorata else ""
        value = format_eur(line.parameter_value) if line.parameter_value is not None else "non chiffré"
        out.append(f"  {line.rule} · {who} · {line.label} : {format_eur(line.amount_eur)}")
        out.append(f"      {line.parameter} = {value}{prorata} — {line.source}")
    out += [
        "",
        f"  Usages            {format_eur(result.usage_eur):>14}",
        f"  Logiciel          {format_eur(result.software_eur):>14}",
        f"  Matériel          {format_eur(result.equipment_eur):>14}",
        f"  AMOA              {format_eur(result.amoa_eur):>14}",
        f"  Total             {format_eur(result.total_eur):>14}",
        f"  Avance            {format_eur(result.advance_eur):>14}",
        f"  Solde             {format_eur(result.balance_eur):>14}",
    ]
    return "\n".join(out)


def explain_sons(result: SonsResult) -> str:
    out = [f"Prestation Ségur — couloir {result.couloir}", ""]
    if result.tranche:
        out.append(f"Tranche {result.tranche} : {format_eur(result.rate_eur)} TTC par ESSMS")
    out.append(f"ESSMS commandés (FINESS ET uniques) : {result.essms_count}")
    out += ["", "Constats :"] + _findings(result.findings)
    out += [
        "",
        f"  Total             {format_eur(result.total_eur):>14}",
        f"  Avance            {format_eur(result.advance_eur):>14}",
        f"  Solde             {format_eur(result.balance_eur):>14}",
    ]
    return "\n".join(out)
