"""A project as the rules see it: its unique, located ESSMS (E-FINESS), before any other rule runs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from .context import CampaignContext
from .finess import KeyStatus, check_key, normalize, problem
from .geography import Geography
from .inputs import Essms, SimulationInput
from .results import Finding, Verdict, rule

SOURCE_FINESS = "FAQN Q9 (002_33fde754886c1227.txt) ; FAQIDF « 1 FINESS ET = 1 financement » (003_602b4b7069bd7466.txt)"
SOURCE_CORSICA = "DECISION D-FINESS-CORSICA (docs/decisions.md)"
SOURCE_OVERSEAS = f"{SOURCE_FINESS} ; DECISION D-FINESS-OVERSEAS (docs/decisions.md)"


@dataclass
class ProjectEssms:
    finess_et: str
    department: str
    region: str
    data: Essms
    fundable: bool = True
    saad_prorata: Fraction | None = None

    @property
    def sector(self) -> str:
        return self.data.sector

    @property
    def operation(self) -> str:
        return self.data.operation


@dataclass
class Project:
    input: SimulationInput
    context: CampaignContext
    geography: Geography
    essms: list[ProjectEssms] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.essms)

    @property
    def essms_by_region(self) -> Counter[str]:
        return Counter(e.region for e in self.essms)

    @property
    def sectors(self) -> Counter[str]:
        return Counter(e.sector for e in self.essms)

    def region_is_overseas_or_corsica(self, region: str | None) -> bool:
        return region in self.geography.regions and self.geography.regions[region].overseas_or_corsica


def _locate(entry: Essms, number: str, geo: Geography) -> tuple[str | None, Finding | None]:
    from_number = geo.department_of_finess(number)
    if entry.department:
        given = geo.normalize_department(entry.department)
        if given is None:
            outside = entry.department.strip().upper() in geo.finess_only
            why = "est un territoire sans ARS parmi les 18 régions du programme" if outside else "est inconnu"
            return None, Finding(
                "E-FINESS",
                Verdict.BLOQUANT,
                f"Le département « {entry.department} » de l'ESSMS {number} {why}.",
                SOURCE_OVERSEAS,
                number,
            )
        if from_number and from_number != given:
            return given, Finding(
                "E-FINESS",
                Verdict.A_APPRECIER,
                f"Le numéro FINESS {number} a été attribué dans le département {from_number}, "
                f"mais l'ESSMS est déclaré dans le {given} : la plateforme retient le département déclaré.",
                SOURCE_FINESS,
                number,
            )
        return given, None
    if from_number is None:
        reason = (
            "un territoire d'outre-mer sans ARS parmi les 18 régions du programme"
            if number.startswith("9")
            else "aucun département connu"
        )
        return None, Finding(
            "E-FINESS",
            Verdict.BLOQUANT,
            f"Impossible de situer l'ESSMS {number} : son numéro désigne {reason}. Indiquez son département.",
            SOURCE_OVERSEAS,
            number,
        )
    return from_number, None


@rule("E-FINESS", "FAQN Q9, FAQIDF (1 FINESS ET = 1 financement)")
def check_finess(inp: SimulationInput, context: CampaignContext, geo: Geography) -> tuple[Project, list[Finding]]:
    """Keeps each valid, located FINESS ET once; every other one is a finding and is left out."""
    project = Project(inp, context, geo)
    findings: list[Finding] = []
    seen: dict[str, Essms] = {}
    for entry in inp.essms:
        number = normalize(entry.finess_et)
        status = check_key(number)
        if status in (KeyStatus.MALFORMED, KeyStatus.BAD_KEY):
            why = problem(number) or "n'a pas la forme d'un numéro FINESS"
            findings.append(
                Finding(
                    "E-FINESS",
                    Verdict.BLOQUANT,
                    f"Le FINESS ET « {entry.finess_et} » {why} : cet ESSMS ne peut pas être financé "
                    "tant qu'il n'a pas de FINESS géographique valide.",
                    SOURCE_FINESS,
                    number,
                )
            )
            continue
        if status == KeyStatus.CORSICA_UNCONFIRMED:
            findings.append(
                Finding(
                    "E-FINESS",
                    Verdict.A_APPRECIER,
                    f"La clé du FINESS corse {number} ne se vérifie pas avec la règle retenue (2A→21, 2B→22), "
                    "qui n'est pas confirmée : l'ARS vérifie le numéro dans le répertoire FINESS.",
                    SOURCE_CORSICA,
                    number,
                )
            )
        if number in seen:
            previous = seen[number]
            if (previous.sector, previous.operation) != (entry.sector, entry.operation):
                findings.append(
                    Finding(
                        "E-FINESS",
                        Verdict.BLOQUANT,
                        f"L'ESSMS {number} figure deux fois avec des secteurs ou opérations différents : "
                        "gardez une seule ligne.",
                        SOURCE_FINESS,
                        number,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "E-FINESS",
                        Verdict.A_APPRECIER,
                        f"L'ESSMS {number} figure deux fois : il est compté une seule fois (FINESS ET unique).",
                        SOURCE_FINESS,
                        number,
                    )
                )
            continue
        seen[number] = entry
        department, finding = _locate(entry, number, geo)
        if finding:
            findings.append(finding)
        if department is None:
            continue
        region = geo.departments[department].region
        project.essms.append(ProjectEssms(number, department, region, entry))
    if project.essms and not any(f.verdict == Verdict.BLOQUANT for f in findings):
        findings.append(
            Finding(
                "E-FINESS",
                Verdict.OK,
                f"{project.count} FINESS ET uniques, tous valides et situés.",
                SOURCE_FINESS,
            )
        )
    return project, findings
