"""Runs every rule on a project and returns what the platform prints: desk, findings, amounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from . import eligibility
from .context import CampaignContext, reading_date
from .desk import deposit_desk, pivot_region
from .funding import compute_funding, payment_schedule
from .geography import geography
from .inputs import SimulationInput
from .money import format_eur
from .parameters import ParameterTree, default_tree
from .project import Project, check_finess
from .results import AmountLine, Finding, Verdict

SEED_EXAMPLES = "seed_examples.esms_numerique"


@dataclass
class SimulationResult:
    campaign: str
    campaign_label: str
    desk: str | None
    pivot_region: str | None
    pivot_region_name: str | None
    essms_count: int
    usage_eur: int
    software_eur: int
    equipment_eur: int
    amoa_eur: int
    total_eur: int
    advance_eur: int
    balance_eur: int
    findings: list[Finding]
    lines: list[AmountLine]
    essms: list[dict[str, Any]] = field(default_factory=list)
    required_pieces: list[str] = field(default_factory=list)

    @property
    def admissible(self) -> bool:
        return not any(f.verdict == Verdict.BLOQUANT for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "campaign_label": self.campaign_label,
            "desk": self.desk,
            "pivot_region": self.pivot_region,
            "pivot_region_name": self.pivot_region_name,
            "essms_count": self.essms_count,
            "usage_eur": self.usage_eur,
            "software_eur": self.software_eur,
            "equipment_eur": self.equipment_eur,
            "amoa_eur": self.amoa_eur,
            "total_eur": self.total_eur,
            "advance_eur": self.advance_eur,
            "balance_eur": self.balance_eur,
            "admissible": self.admissible,
            "findings": [f.as_dict() for f in self.findings],
            "lines": [line.as_dict() for line in self.lines],
            "essms": self.essms,
            "required_pieces": self.required_pieces,
        }


def _seed_example_findings(project: Project, usage: int, software: int, tree: ParameterTree) -> list[Finding]:
    """When a simulation reproduces a worked example of the texts, say whether the amounts agree."""
    essms = project.essms
    operations = {e.operation for e in essms}
    if len(operations) != 1 or any(e.saad_prorata is not None or not e.fundable for e in essms):
        return []
    examples = tree.get(SEED_EXAMPLES).at(dt.date.max)
    for example in examples.value:
        if (example["campaign"], example["essms"], example["operation"]) != (
            project.context.campaign,
            project.count,
            next(iter(operations)),
        ) or example["segur_referenced"] != project.input.solution.segur_referenced:
            continue
        total = usage + software
        source = f"{examples.reference} — exemple {example['id']}"
        if total == example["seed_total_eur"]:
            return [
                Finding(
                    "F-COUNT",
                    Verdict.OK,
                    f"Ce cas reproduit l'exemple {example['id']} des textes : même montant, {format_eur(total)}.",
                    source,
                )
            ]
        return [
            Finding(
                "F-COUNT",
                Verdict.OK,
                f"Écart connu avec l'exemple {example['id']} des textes : l'exemple annonce "
                f"{format_eur(example['seed_total_eur'])} ({format_eur(example['seed_usage_eur'])} usages + "
                f"{format_eur(example['seed_software_eur'])} logiciel), la règle donne {format_eur(total)} "
                f"({format_eur(usage)} + {format_eur(software)}) : {example['note']}. Le simulateur applique "
                "le texte de la règle.",
                source,
            )
        ]
    return []


def simulate(
    inp: SimulationInput,
    tree: ParameterTree | None = None,
    registry_findings: list[Finding] | None = None,
    today: dt.date | None = None,
) -> SimulationResult:
    """`registry_findings`: what the caller learnt completing the input from the FINESS registry (E-FINESS).
    `today`: the caller's clock, read when the input has no filing date (the platform passes its own date)."""
    tree = tree or default_tree()
    geo = geography(tree)
    context = CampaignContext(inp.campaign, reading_date(inp.filed_on, today), tree)
    couloir_of = {row["code"]: row["couloir"] for row in context.shared("sectors.sectors").value}

    project, findings = check_finess(inp, context, geo)
    pivot, pivot_findings = pivot_region(project)
    context.region = pivot
    desk, desk_findings = deposit_desk(project, pivot)
    findings = desk_findings + pivot_findings + (registry_findings or []) + findings
    findings += eligibility.l312_establishment(project)
    findings += eligibility.filing_window(project, desk)
    findings += eligibility.minimum_size(project, pivot)
    segur = eligibility.segur_conformity(project, couloir_of)
    findings += segur.findings
    findings += eligibility.saad_activity(project)
    findings += eligibility.no_double_funding(project)
    findings += eligibility.sons_validation_date(project)

    funding = compute_funding(project, desk, segur.unreferenced_rate)
    findings += funding.findings
    findings += eligibility.required_pieces(project)
    usage, software = funding.total("F-USAGE"), funding.total("F-SOFTWARE")
    equipment, amoa = funding.total("F-EQUIP"), funding.total("F-AMOA")
    total = usage + software + equipment + amoa
    payments = payment_schedule(project, desk, total)
    findings += payments.findings
    findings += _seed_example_findings(project, usage, software, tree)

    return SimulationResult(
        campaign=inp.campaign,
        campaign_label=context.get("campaign.label").value,
        desk=desk.desk if project.essms else None,
        pivot_region=pivot,
        pivot_region_name=geo.region_name(pivot) if pivot else None,
        essms_count=project.count,
        usage_eur=usage,
        software_eur=software,
        equipment_eur=equipment,
        amoa_eur=amoa,
        total_eur=total,
        advance_eur=payments.advance_eur,
        balance_eur=payments.balance_eur,
        findings=findings,
        lines=funding.lines,
        essms=[
            {
                "finess_et": e.finess_et,
                "department": e.department,
                "region": e.region,
                "sector": e.sector,
                "operation": e.operation,
                "rank": funding.ranks.get(e.finess_et),
                "fundable": e.fundable,
            }
            for e in project.essms
        ],
        required_pieces=eligibility.required_piece_codes(project),
    )
