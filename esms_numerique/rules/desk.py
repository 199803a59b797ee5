"""Where a project is filed: the ARS pivot (G-PIVOT) and the desk (G-DESK)."""

from __future__ import annotations

from dataclasses import dataclass

from .finess import normalize
from .project import Project
from .results import Finding, Verdict, rule, source_of

SOURCE_PIVOT = "FAQN Q25 (002_33fde754886c1227.txt) ; FAQIDF « Si OG national… » (003_602b4b7069bd7466.txt)"
SOURCE_TIE = "DECISION D-PIVOT-TIE (docs/decisions.md)"


@dataclass(frozen=True)
class Desk:
    desk: str  # "regional" | "national"
    pivot_region: str | None
    multiregional: bool


@rule("G-PIVOT", "FAQN Q25, FAQIDF")
def pivot_region(project: Project) -> tuple[str | None, list[Finding]]:
    """The region holding most of the project's ESSMS. A tie goes to the porteur's own region when it is
    one of the tied regions, otherwise to the lowest INSEE region code; the finding says so."""
    counts = project.essms_by_region
    if not counts:
        return None, []
    geo = project.geography
    best = max(counts.values())
    tied = sorted(region for region, n in counts.items() if n == best)
    names = {r: geo.region_name(r) for r in counts}
    if len(tied) == 1:
        region = tied[0]
        message = (
            f"ARS pivot : {names[region]} ({best} ESSMS sur {project.count})."
            if len(counts) > 1
            else f"Tous les ESSMS sont en {names[region]} : le projet relève de cette ARS."
        )
        return region, [Finding("G-PIVOT", Verdict.OK, message, SOURCE_PIVOT)]
    porteur_region = None
    if project.input.porteur.finess_ej:
        department = geo.department_of_finess(normalize(project.input.porteur.finess_ej))
        porteur_region = geo.departments[department].region if department else None
    if porteur_region in tied:
        region, why = porteur_region, "la région du porteur"
    else:
        region, why = tied[0], "le plus petit code région INSEE, faute de région du porteur parmi elles"
    listed = ", ".join(f"{names[r]} ({r})" for r in tied)
    return region, [
        Finding(
            "G-PIVOT",
            Verdict.A_APPRECIER,
            f"Égalité : {listed} comptent chacune {best} ESSMS. La plateforme retient {names[region]}, {why} ; "
            "les ARS concernées peuvent en convenir autrement.",
            f"{SOURCE_PIVOT} ; {SOURCE_TIE}",
        )
    ]


@rule("G-DESK", "AAP24 §7 ; HDF22, FAQN Q23, FAQIDF (2022)")
def deposit_desk(project: Project, pivot: str | None) -> tuple[Desk, list[Finding]]:
    ctx = project.context
    threshold = ctx.get("desk.national_threshold")
    several_required = ctx.get("desk.national_requires_several_regions")
    regions = len(project.essms_by_region)
    multiregional = regions > 1
    national = project.count >= threshold.value and (multiregional or not several_required.value)
    desk = Desk("national" if national else "regional", pivot, multiregional)
    where = f"{project.count} ESSMS dans {regions} région{'s' if regions > 1 else ''}"
    if national:
        message = f"{where} : guichet national (CNSA et DNS), seuil de {threshold.value} ESSMS atteint."
    elif project.count >= threshold.value:
        message = f"{where} : guichet régional ({threshold.value} ESSMS ou plus dans une seule région)."
    else:
        message = f"{where} : guichet régional (moins de {threshold.value} ESSMS)."
    if not national and pivot:
        message += f" Dépôt auprès de l'ARS {project.geography.region_name(pivot)}."
    message += " Un même ESSMS ne peut pas être déposé à la fois au régional et au national."
    return desk, [Finding("G-DESK", Verdict.OK, message, source_of(threshold, several_required))]
