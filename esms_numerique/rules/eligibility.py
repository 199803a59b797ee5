"""Eligibility and admissibility (recevabilité): the E-* checks a project description can decide."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from .desk import Desk
from .finess import normalize
from .money import format_share
from .parameters import DatedValue
from .project import Project, ProjectEssms
from .results import Finding, Verdict, rule, source_of

MEDICO_SOCIAL = {"PA", "PH", "DOM"}
AHI_PJM = {"AHI", "PJM"}
DATE = "%d/%m/%Y"
SRC_UPGRADE = (
    "AAP24 3.3.2 1) « mise à niveau de leur logiciel vers une version référencée Ségur » "
    "(001_098b5f25fa5a095c.txt) ; FAQN Q38 (002_33fde754886c1227.txt)"
)
AHI_PJM_DECISION = "DECISION D-SEGUR-AHI-PJM (docs/decisions.md)"


@rule("E-L312", "AAP24 3.1, FAQN Q1")
def l312_establishment(project: Project) -> list[Finding]:
    """Only ESSMS of art. L.312-1 CASF are eligible. The FINESS category tells (finess/sectors.yaml): a
    category outside the reviewed table (a hospital, a health centre…) is not an ESSMS for the platform."""
    table = project.context.shared("finess/sectors.category_sectors")
    categories = {row["category"]: row for row in table.value}
    src = f"AAP24 3.1 (001_098b5f25fa5a095c.txt) ; FAQN Q1 ; {table.reference}"
    findings = []
    for e in project.essms:
        category = e.data.category
        if category is None:
            continue
        if category not in categories:
            e.fundable = False
            findings.append(
                Finding(
                    "E-L312",
                    Verdict.BLOQUANT,
                    f"Catégorie FINESS {category} : ce n'est pas un établissement ou service social ou médico-social "
                    "de l'article L.312-1 du CASF, il n'est pas éligible.",
                    src,
                    e.finess_et,
                )
            )
    if findings or not any(e.data.category for e in project.essms):
        return findings
    return [Finding("E-L312", Verdict.OK, "Toutes les catégories FINESS indiquées sont des ESSMS.", src)]


@rule("E-WINDOW", "AAP24 §8 ; HDF22 calendrier 2022")
def filing_window(project: Project, desk: Desk) -> list[Finding]:
    """Filed inside the window of its desk. « À minuit » means the end of the closing day, Paris time."""
    ctx = project.context
    kind = "national" if desk.desk == "national" else ("multiregional" if desk.multiregional else "regional")
    opens, closes = ctx.get(f"windows.{kind}_opens"), ctx.get(f"windows.{kind}_closes")
    timezone = ctx.get("campaign.timezone")
    zone = ZoneInfo(timezone.value)
    label = {"national": "nationale", "multiregional": "multirégionale", "regional": "régionale"}[kind]
    window = f"fenêtre {label} du {opens.value:{DATE}} au {closes.value:{DATE}} à minuit (heure de Paris)"
    source = f"{source_of(opens, closes, timezone)} ; DECISION D-WINDOW-DEFAULTS (docs/decisions.md)"
    filed = project.input.filed_on
    if filed is None:
        return [Finding("E-WINDOW", Verdict.A_APPRECIER, f"Date de dépôt non indiquée ; {window}.", source)]
    start = dt.datetime.combine(opens.value, dt.time(0), zone)
    end = dt.datetime.combine(closes.value + dt.timedelta(days=1), dt.time(0), zone)
    if isinstance(filed, dt.datetime):
        moment = filed if filed.tzinfo else filed.replace(tzinfo=zone)
        moment = moment.astimezone(zone)
        shown = f"{moment:%d/%m/%Y à %H:%M} (heure de Paris)"
    else:
        moment = dt.datetime.combine(filed, dt.time(12), zone)
        shown = f"{filed:{DATE}}"
    if moment < start:
        return [Finding("E-WINDOW", Verdict.BLOQUANT, f"Dépôt le {shown}, avant l'ouverture ; {window}.", source)]
    if moment >= end:
        return [
            Finding(
                "E-WINDOW",
                Verdict.BLOQUANT,
                f"Dépôt le {shown}, après la clôture : non recevable ({window}). Le dialogue avec "
                "l'ARS reste possible pour ajuster la demande.",
                source,
            )
        ]
    return [Finding("E-WINDOW", Verdict.OK, f"Dépôt le {shown}, dans la {window}.", source)]


@rule("E-MIN-SIZE", "AAP24 3.2.D, FAQN Q6, FAQIDF")
def minimum_size(project: Project, pivot: str | None) -> list[Finding]:
    ctx = project.context
    overseas = project.region_is_overseas_or_corsica(pivot)
    ideal = ctx.get(
        "eligibility/min_size.ideal_essms_overseas_corsica" if overseas else "eligibility/min_size.ideal_essms"
    )
    floor = ctx.get("eligibility/min_size.hard_floor_essms")
    where = " (Corse et outre-mer)" if overseas else ""
    if project.count < floor.value:
        return [
            Finding(
                "E-MIN-SIZE",
                Verdict.BLOQUANT,
                f"{project.count} ESSMS : en dessous du plancher de {floor.value} ESSMS fixé par "
                f"l'ARS {project.geography.region_name(pivot)}, la candidature est écartée.",
                source_of(floor),
            )
        ]
    if project.count < ideal.value:
        return [
            Finding(
                "E-MIN-SIZE",
                Verdict.A_APPRECIER,
                f"{project.count} ESSMS : moins que les {ideal.value} idéalement attendus{where}. "
                "L'ARS apprécie selon la capacité du porteur ; un regroupement avec d'autres OG "
                "est conseillé.",
                source_of(ideal, floor),
            )
        ]
    return [
        Finding(
            "E-MIN-SIZE",
            Verdict.OK,
            f"{project.count} ESSMS : au moins les {ideal.value} idéalement attendus{where}.",
            source_of(ideal),
        )
    ]


class SegurVerdict:
    """What E-SEGUR decided, and which software rate F-SOFTWARE must read."""

    def __init__(self, findings: list[Finding], unreferenced_rate: bool):
        self.findings = findings
        self.unreferenced_rate = unreferenced_rate


def _ght_conditions(project: Project, src: str) -> list[Finding]:
    solution = project.input.solution
    conditions = {
        "un marché public ouvert aux ESSMS du projet": solution.ght_public_contract,
        "un document de couverture fonctionnelle du DPI face au cahier des charges DUI": (
            solution.ght_coverage_document
        ),
        "aucune autre aide européenne ni HOP'EN pour ces ESSMS": solution.ght_no_other_funding,
    }
    refused = [label for label, value in conditions.items() if value is False]
    unknown = [label for label, value in conditions.items() if value is None]
    if refused:
        return [
            Finding(
                "E-SEGUR",
                Verdict.BLOQUANT,
                "DPI de GHT référencé au couloir hôpital : condition non remplie — " + " ; ".join(refused) + ".",
                src,
            )
        ]
    if unknown:
        return [
            Finding(
                "E-SEGUR",
                Verdict.A_APPRECIER,
                "DPI de GHT référencé au couloir hôpital : à justifier — " + " ; ".join(unknown) + ".",
                src,
            )
        ]
    return [
        Finding(
            "E-SEGUR",
            Verdict.OK,
            "DPI de GHT référencé au couloir hôpital : les trois conditions cumulatives sont réunies.",
            src,
        )
    ]


def _exempt_from_referencing(e: ProjectEssms, ahi_pjm_only: bool, exempt: DatedValue) -> bool:
    """AAP24 2.1: a project of AHI/PJM ESSMS only need not *acquire* a Ségur-referenced DUI. An upgrade is by
    definition « vers une version référencée Ségur » (AAP24 3.3.2 1), FAQN Q38): it stays subject to referencing."""
    return bool(exempt.value) and ahi_pjm_only and e.operation == "acquisition"


def _hospital_couloir(project: Project, src: str) -> SegurVerdict | None:
    """A DPI referenced in the hospital couloir: the GHT exception where the campaign has it (2024); elsewhere
    refused, unless the SAD stands in (2022: « référencé Ségur, sur un DSR médico-social ou … au SAD »), in which
    case None: the solution is read as not referenced and the SAD rules apply."""
    ctx = project.context
    solution, porteur = project.input.solution, project.input.porteur
    exception = ctx.get("eligibility/segur.ght_hospital_couloir_exception")
    if not exception.value:
        if ctx.get("eligibility/segur.sad_exception").value and solution.sad_referenced:
            return None
        return SegurVerdict(
            [
                Finding(
                    "E-SEGUR",
                    Verdict.BLOQUANT,
                    f"Campagne {ctx.campaign} : une solution référencée au seul couloir hôpital n'est pas admise, "
                    "même portée par un GHT. Le DPI d'un GHT n'est retenu que s'il est référencé Ségur sur un DSR "
                    "médico-social, ou référencé au SAD ; l'exception du couloir hôpital, à trois conditions, "
                    "n'existe qu'à partir de l'appel à projets 2024.",
                    f"{source_of(exception)} ; FAQN Q19 (002_33fde754886c1227.txt) ; "
                    "DECISION D-SEGUR-GHT-2022 (docs/decisions.md)",
                )
            ],
            False,
        )
    src = f"{src} ; {source_of(exception)}"
    if not porteur.is_ght:
        refusal = "Une solution référencée au couloir hôpital n'est admise que si le porteur est un GHT."
    elif not solution.segur_referenced:
        refusal = "Le DPI du GHT doit être référencé Ségur vague 1 au couloir hôpital."
    else:
        return SegurVerdict(_ght_conditions(project, src), False)
    return SegurVerdict([Finding("E-SEGUR", Verdict.BLOQUANT, refusal, src)], False)


def _referenced_couloirs(
    project: Project, couloir_of: dict[str, str], ahi_pjm_only: bool, exempt: DatedValue, src: str
) -> list[Finding]:
    """A referenced solution covers an ESSMS only in the couloirs it is referenced in; an AHI/PJM acquisition of an
    AHI/PJM-only project needs no referencing at all."""
    referenced = project.input.solution.referenced_couloirs
    findings = []
    for e in project.essms:
        couloir = couloir_of[e.sector]
        if referenced is None or couloir in referenced or _exempt_from_referencing(e, ahi_pjm_only, exempt):
            continue
        e.fundable = False
        message = f"La solution n'est pas référencée dans le couloir {couloir} du secteur {e.sector} de cet ESSMS."
        source = src
        if exempt.value and e.sector in AHI_PJM:
            message += " L'absence d'obligation de référencement AHI/PJM ne vaut que pour " + (
                "l'acquisition d'un DUI : une montée de version se fait vers une version référencée Ségur."
                if e.operation == "upgrade"
                else "un projet qui ne réunit que des ESSMS AHI et PJM."
            )
            why = SRC_UPGRADE if e.operation == "upgrade" else source_of(exempt)
            source = f"{src} ; {why} ; {AHI_PJM_DECISION}"
        findings.append(Finding("E-SEGUR", Verdict.BLOQUANT, message, source, e.finess_et))
    return findings


def _ahi_pjm_upgrades(upgrades: list[ProjectEssms], exempt: DatedValue) -> list[Finding]:
    findings = []
    for e in upgrades:
        e.fundable = False
        findings.append(
            Finding(
                "E-SEGUR",
                Verdict.BLOQUANT,
                f"Montée de version d'un ESSMS {e.sector} : elle se fait vers une version référencée Ségur, et la "
                "solution ne l'est pas (ni son éditeur engagé dans le référencement). L'absence d'obligation de "
                "référencement des projets AHI/PJM ne vaut que pour l'acquisition d'un DUI.",
                f"{SRC_UPGRADE} ; {source_of(exempt)} ; {AHI_PJM_DECISION}",
                e.finess_et,
            )
        )
    return findings


@rule("E-SEGUR", "AAP24 2.1, 3.2.C et 3.3.2 1), FAQN Q14/Q16/Q17/Q19/Q38, FAQIDF, HDF22 (DPI de GHT)")
def segur_conformity(project: Project, couloir_of: dict[str, str]) -> SegurVerdict:
    ctx = project.context
    solution = project.input.solution
    sad_exception = ctx.get("eligibility/segur.sad_exception")
    majority = ctx.get("eligibility/segur.sad_majority_share")
    exempt = ctx.get("eligibility/segur.ahi_pjm_exempt")
    src = "AAP24 3.2.C (001_098b5f25fa5a095c.txt) ; FAQN Q14, Q16, Q17 (002_33fde754886c1227.txt)"
    findings: list[Finding] = []
    essms = project.essms
    if not essms:
        return SegurVerdict([], False)
    ahi_pjm_only = all(e.sector in AHI_PJM for e in essms)

    referenced = solution.segur_referenced
    if solution.couloir == "hospital":
        hospital = _hospital_couloir(project, src)
        if hospital is not None:
            return hospital
        referenced = False

    if referenced:
        findings = _referenced_couloirs(project, couloir_of, ahi_pjm_only, exempt, src)
        if not findings:
            findings.append(
                Finding("E-SEGUR", Verdict.OK, "Solution référencée Ségur vague 1 au couloir médico-social.", src)
            )
        return SegurVerdict(findings, False)

    exempted = [e for e in essms if _exempt_from_referencing(e, ahi_pjm_only, exempt)]
    if exempted:
        findings.append(
            Finding(
                "E-SEGUR",
                Verdict.OK,
                f"Projet AHI/PJM seulement : pas d'obligation d'acquérir un logiciel référencé Ségur "
                f"({len(exempted)} acquisition(s)) ; une étude de couverture des besoins du DUI est à joindre.",
                f"{source_of(exempt)} ; {AHI_PJM_DECISION}",
            )
        )
    others = [e for e in essms if not _exempt_from_referencing(e, ahi_pjm_only, exempt)]
    if not others:
        return SegurVerdict(findings, False)

    if solution.referencing in ("in_progress", "engaged"):
        if any(e.operation == "acquisition" for e in others):
            message = (
                "Solution en cours de référencement : le référencement Ségur doit être obtenu avant le "
                "démarrage du paramétrage (condition suivie par l'ARS)."
            )
        else:
            message = (
                "Montée de version : l'éditeur est engagé dans le référencement ; le financement suppose "
                "la version référencée Ségur."
            )
        return SegurVerdict([*findings, Finding("E-SEGUR", Verdict.A_APPRECIER, message, src)], False)

    if exempt.value and ahi_pjm_only:
        # What is left of an AHI/PJM-only project are its upgrades.
        return SegurVerdict(findings + _ahi_pjm_upgrades(others, exempt), False)

    share = Fraction(sum(e.sector in MEDICO_SOCIAL for e in essms), len(essms))
    if sad_exception.value and solution.sad_referenced:
        # The SAD stands in for referencing only for acquisitions: upgrades are never funded this way,
        # whatever the grappe's mix, so that adding an ESSMS cannot change the fate of another.
        for e in essms:
            if e.operation == "upgrade":
                e.fundable = False
                findings.append(
                    Finding(
                        "E-SEGUR",
                        Verdict.BLOQUANT,
                        "Montée de version : la solution doit être référencée Ségur (ou son éditeur engagé dans "
                        "le référencement) ; le SAD ne vaut que pour une acquisition.",
                        src,
                        e.finess_et,
                    )
                )
        sad_src = source_of(sad_exception, majority)
        if share <= Fraction(Decimal(str(majority.value))):
            findings.append(
                Finding(
                    "E-SEGUR",
                    Verdict.BLOQUANT,
                    f"Grappe à {format_share(share)} PA/PH/DOM seulement : une grappe majoritairement sociale doit "
                    "retenir une solution référencée Ségur ; le référencement SAD ne suffit pas.",
                    sad_src,
                )
            )
        else:
            findings.append(
                Finding(
                    "E-SEGUR",
                    Verdict.OK,
                    f"Solution référencée SAD, grappe à {format_share(share)} PA/PH/DOM : admise pour "
                    "l'acquisition, au tarif logiciel « non référencé ».",
                    sad_src,
                )
            )
        return SegurVerdict(findings, True)

    return SegurVerdict(
        [
            Finding(
                "E-SEGUR",
                Verdict.BLOQUANT,
                "La solution DUI doit être référencée Ségur vague 1 au couloir médico-social"
                + (
                    " (ou, en 2022, référencée SAD pour une grappe majoritairement PA/PH/DOM)"
                    if sad_exception.value
                    else ""
                )
                + ".",
                src,
            )
        ],
        bool(sad_exception.value and solution.sad_referenced),
    )


@rule("E-SAAD", "AAP24 3.1, 3.3.1 et Annexe 1 ; FAQN Q2")
def saad_activity(project: Project) -> list[Finding]:
    """Sets each SAAD's prorata (médico-social hours ÷ total hours of N-1) used by F-SAAD."""
    categories = project.context.shared("finess/categories.saad_categories")
    src = "AAP24 3.3.1 et Annexe 1 (001_098b5f25fa5a095c.txt) ; FAQN Q2 (002_33fde754886c1227.txt)"
    findings = []
    for e in project.essms:
        hours = e.data.saad_hours
        if hours is None:
            if e.data.category in categories.value:
                findings.append(
                    Finding(
                        "E-SAAD",
                        Verdict.A_APPRECIER,
                        "Service d'aide à domicile sans déclaration des heures (annexe 1) : le financement sera "
                        "proratisé sur les heures médico-sociales déclarées ; il est calculé ici à 100 %.",
                        src,
                        e.finess_et,
                    )
                )
            continue
        if hours.total <= 0 or hours.medico_social > hours.total:
            e.fundable = False
            findings.append(
                Finding(
                    "E-SAAD",
                    Verdict.BLOQUANT,
                    f"Heures déclarées incohérentes (médico-sociales {hours.medico_social:g}, total "
                    f"{hours.total:g}) : le total doit être positif et au moins égal aux heures médico-sociales.",
                    src,
                    e.finess_et,
                )
            )
            continue
        e.saad_prorata = Fraction(Decimal(str(hours.medico_social))) / Fraction(Decimal(str(hours.total)))
        findings.append(
            Finding(
                "E-SAAD",
                Verdict.OK if e.saad_prorata == 1 else Verdict.A_APPRECIER,
                f"Activité médico-sociale : {hours.medico_social:g} h sur {hours.total:g} h en N-1, soit "
                f"{format_share(e.saad_prorata)} ; seule cette part est financée (déclaration vérifiable par l'ARS).",
                src,
                e.finess_et,
            )
        )
    return findings


@rule("E-NO-DOUBLE", "AAP24 3.2.A, FAQN Q30/Q31/Q35")
def no_double_funding(project: Project) -> list[Finding]:
    src = "AAP24 3.2.A (001_098b5f25fa5a095c.txt) ; FAQN Q30, Q31, Q35 (002_33fde754886c1227.txt)"
    by_finess: dict[str, list] = {}
    for funding in project.input.previous_fundings:
        by_finess.setdefault(normalize(funding.finess_et), []).append(funding)
    findings = []
    for e in project.essms:
        fundings = list(by_finess.get(e.finess_et, []))
        sons = e.data.sons_order or any(f.scheme == "sons" for f in fundings)
        for f in fundings:
            year = f" en {f.year}" if f.year else ""
            if f.scheme == "esms_numerique":
                e.fundable = False
                findings.append(
                    Finding(
                        "E-NO-DOUBLE",
                        Verdict.BLOQUANT,
                        f"Déjà financé par ESMS numérique{year} : un ESSMS ne reçoit qu'un financement sur "
                        "2021–2025, et jamais pour deux DUI différents.",
                        src,
                        e.finess_et,
                    )
                )
            elif f.scheme in ("feder", "fse") and f.operation in (None, e.operation):
                e.fundable = False
                findings.append(
                    Finding(
                        "E-NO-DOUBLE",
                        Verdict.BLOQUANT,
                        f"L'opération bénéficie déjà d'un financement {f.scheme.upper()}{year} : pas de cumul "
                        "de fonds européens sur une même opération.",
                        src,
                        e.finess_et,
                    )
                )
        if sons and e.operation == "acquisition":
            e.fundable = False
            findings.append(
                Finding(
                    "E-NO-DOUBLE",
                    Verdict.BLOQUANT,
                    "Une Prestation Ségur (SONS) a été commandée pour cet ESSMS : il ne peut plus recevoir de "
                    "financement d'acquisition pour un autre DUI.",
                    src,
                    e.finess_et,
                )
            )
    if not findings:
        findings.append(
            Finding("E-NO-DOUBLE", Verdict.OK, "Aucun financement antérieur déclaré ne fait obstacle.", src)
        )
    return findings


@rule("E-SONS-VA", "AAP24 2.1")
def sons_validation_date(project: Project) -> list[Finding]:
    """Usage funding beside SONS: the Prestation Ségur's VA must not predate the end of Q1 2023."""
    if not project.context.has("eligibility/sons_va.va_not_before"):
        return []
    limit = project.context.get("eligibility/sons_va.va_not_before")
    findings = []
    for e in project.essms:
        va = e.data.sons_va_date
        if e.operation != "upgrade" or va is None:
            continue
        if va < limit.value:
            e.fundable = False
            findings.append(
                Finding(
                    "E-SONS-VA",
                    Verdict.BLOQUANT,
                    f"VA de la Prestation Ségur signée le {va:{DATE}}, avant la fin du premier trimestre 2023 : "
                    "pas de financement à l'usage complémentaire.",
                    f"{source_of(limit)} ; DECISION D-SONS-VA (docs/decisions.md)",
                    e.finess_et,
                )
            )
        else:
            findings.append(
                Finding(
                    "E-SONS-VA",
                    Verdict.OK,
                    f"VA de la Prestation Ségur signée le {va:{DATE}}, après le premier trimestre 2023.",
                    f"{source_of(limit)} ; DECISION D-SONS-VA (docs/decisions.md)",
                    e.finess_et,
                )
            )
    return findings


def _piece_conditions(project: Project, categories: list[str]) -> set[str]:
    inp = project.input
    conditions = set()
    if any(e.data.saad_hours or e.data.category in categories for e in project.essms):
        conditions.add("saad")
    if any(e.data.national_entity for e in project.essms):
        conditions.add("national_entity")
    ght_dpi = inp.solution.couloir == "hospital" and inp.porteur.is_ght
    if ght_dpi or (project.essms and all(e.sector in AHI_PJM for e in project.essms)):
        conditions.add("coverage_study")
    if inp.equipment and inp.equipment.quotes_eur > 0:
        conditions.add("equipment")
    return conditions


def _required_pieces(project: Project) -> tuple[list[dict], str] | None:
    """The pieces this project must join (standard + the conditional ones that apply), and their source."""
    ctx = project.context
    if not ctx.has("eligibility/pieces.standard"):
        return None
    standard = ctx.get("eligibility/pieces.standard")
    conditional = ctx.get("eligibility/pieces.conditional")
    conditions = _piece_conditions(project, ctx.shared("finess/categories.saad_categories").value)
    required = list(standard.value) + [p for p in conditional.value if p["when"] in conditions]
    return required, source_of(standard, conditional)


def required_piece_codes(project: Project) -> list[str]:
    """Codes of the pieces E-PIECES asks of this project (for forms and checklists)."""
    found = _required_pieces(project)
    return [p["code"] for p in found[0]] if found else []


@rule("E-PIECES", "AAP24 Annexe 2")
def required_pieces(project: Project) -> list[Finding]:
    found = _required_pieces(project)
    if found is None:
        return [
            Finding(
                "E-PIECES",
                Verdict.A_APPRECIER,
                "Les textes de référence ne donnent pas la liste des pièces de la campagne "
                f"{project.context.campaign} : l'ARS la précise.",
                "DECISION D-PIECES-2022 (docs/decisions.md)",
            )
        ]
    required, src = found
    declared = project.input.pieces
    if declared is None:
        labels = " ; ".join(p["label"] for p in required)
        return [
            Finding(
                "E-PIECES", Verdict.A_APPRECIER, f"{len(required)} pièces seront à joindre au dépôt : {labels}.", src
            )
        ]
    missing = [p for p in required if p["code"] not in declared]
    if missing:
        return [
            Finding(
                "E-PIECES",
                Verdict.BLOQUANT,
                f"{len(missing)} pièce(s) manquante(s) : " + " ; ".join(p["label"] for p in missing) + ".",
                src,
            )
        ]
    return [Finding("E-PIECES", Verdict.OK, f"Les {len(required)} pièces attendues sont déclarées.", src)]
