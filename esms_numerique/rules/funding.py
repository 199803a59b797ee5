"""Funding of an ESMS numérique project: ranks, usage, software, small-OG aids, VAT and payments (F-*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .desk import Desk
from .money import format_eur, format_share, round_eur, share_eur
from .parameters import DatedValue
from .project import Project, ProjectEssms
from .results import AmountLine, Finding, Verdict, rule, source_of

ROUNDING = "DECISION D-ROUNDING (docs/decisions.md)"
RANKS_SOURCE = "DECISION D-RANKS (docs/decisions.md) ; AAP24 3.3.1 (FINESS géographiques uniques)"


@dataclass
class Funding:
    lines: list[AmountLine] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)

    def total(self, rule_id: str) -> int:
        return sum(line.amount_eur for line in self.lines if line.rule == rule_id)


@dataclass(frozen=True)
class Rates:
    """The four rates of one ESSMS's operation, with the parameters they come from."""

    usage_full: DatedValue
    usage_volume: DatedValue
    software_full: DatedValue | None
    software_volume: DatedValue | None
    prefix_usage: str
    prefix_software: str | None

    @property
    def full_rate_benefit(self) -> int:
        software = (self.software_full.value - self.software_volume.value) if self.software_full else 0
        return self.usage_full.value - self.usage_volume.value + software


def _rates(project: Project, essms: ProjectEssms, unreferenced: bool) -> Rates:
    ctx = project.context
    op = essms.operation
    if op == "acquisition":
        software = "unreferenced" if unreferenced else "referenced"
        return Rates(
            ctx.get(f"funding/usage.{op}_full_rate"),
            ctx.get(f"funding/usage.{op}_volume_rate"),
            ctx.get(f"funding/software.{software}_full_rate"),
            ctx.get(f"funding/software.{software}_volume_rate"),
            ctx.name(f"funding/usage.{op}"),
            ctx.name(f"funding/software.{software}"),
        )
    return Rates(
        ctx.get(f"funding/usage.{op}_full_rate"),
        ctx.get(f"funding/usage.{op}_volume_rate"),
        None,
        None,
        ctx.name(f"funding/usage.{op}"),
        None,
    )


def _prorata(essms: ProjectEssms) -> Fraction:
    return essms.saad_prorata if essms.saad_prorata is not None else Fraction(1)


@rule("F-COUNT", "AAP24 3.3.1 et 3.3.2 ; HDF22 (49 premiers ESSMS, puis à partir du 50e)")
def assign_ranks(project: Project, rates: dict[str, Rates]) -> tuple[dict[str, int], list[Finding]]:
    """Ranks 1..n over the fundable unique FINESS ET. The texts do not say how a mixed project shares its
    ranks: the full-rate ranks go first to the ESSMS for which the full rate weighs most (acquisitions
    before upgrades, a SAAD prorata lowering the weight), ties by FINESS ET — the highest total the texts
    allow, and a total that never falls when an ESSMS is added."""
    fundable = [e for e in project.essms if e.fundable]
    order = sorted(fundable, key=lambda e: (-rates[e.finess_et].full_rate_benefit * _prorata(e), e.finess_et))
    ranks = {e.finess_et: rank for rank, e in enumerate(order, start=1)}
    volume_from = project.context.get("funding/usage.volume_from_rank")
    volume = sum(1 for r in ranks.values() if r >= volume_from.value)
    left_out = project.count - len(fundable)
    message = f"{len(ranks)} ESSMS financés (FINESS ET uniques)"
    if left_out:
        message += f", {left_out} écarté(s) par un constat bloquant"
    message += f" ; {volume} au tarif « effet volume » (à partir du {volume_from.value}e)."
    operations = {e.operation for e in fundable}
    if len(operations) > 1:
        message += (
            " Projet mixte : les rangs au plein tarif vont d'abord aux acquisitions, puis aux montées "
            "de version (choix de la plateforme, les textes ne le précisent pas)."
        )
    return ranks, [Finding("F-COUNT", Verdict.OK, message, f"{source_of(volume_from)} ; {RANKS_SOURCE}")]


@rule("F-SAAD", "AAP24 3.3.1 et Annexe 1")
def saad_prorated(amount: int, essms: ProjectEssms) -> tuple[int, str | None]:
    """A SAAD is funded on its médico-social share of activity only (E-SAAD sets the share)."""
    if essms.saad_prorata is None or essms.saad_prorata == 1:
        return amount, None
    return round_eur(amount * essms.saad_prorata), f"{format_share(essms.saad_prorata)} (F-SAAD)"


def _rank_line(
    rule_id: str,
    essms: ProjectEssms,
    rank: int,
    full: DatedValue,
    volume: DatedValue,
    volume_from: int,
    prefix: str,
    label: str,
) -> AmountLine:
    chosen, which = (full, "full_rate") if rank < volume_from else (volume, "volume_rate")
    amount, prorata = saad_prorated(chosen.value, essms)
    return AmountLine(
        rule_id, essms.finess_et, rank, amount, label, f"{prefix}_{which}", chosen.value, str(chosen.reference), prorata
    )


@rule("F-USAGE", "AAP24 3.3.2 1) ; HDF22")
def usage_lines(project: Project, rates: dict[str, Rates], ranks: dict[str, int]) -> list[AmountLine]:
    volume_from = project.context.get("funding/usage.volume_from_rank").value
    lines = []
    for e in project.essms:
        if e.finess_et in ranks:
            r = rates[e.finess_et]
            kind = "acquisition" if e.operation == "acquisition" else "montée de version"
            lines.append(
                _rank_line(
                    "F-USAGE",
                    e,
                    ranks[e.finess_et],
                    r.usage_full,
                    r.usage_volume,
                    volume_from,
                    r.prefix_usage,
                    f"Usages — {kind}",
                )
            )
    return lines


@rule("F-SOFTWARE", "AAP24 3.3.2 2) ; HDF22")
def software_lines(project: Project, rates: dict[str, Rates], ranks: dict[str, int]) -> list[AmountLine]:
    volume_from = project.context.get("funding/usage.volume_from_rank").value
    lines = []
    for e in project.essms:
        r = rates.get(e.finess_et)
        if e.finess_et in ranks and r.software_full is not None:
            label = "Logiciel — " + (
                "référencé Ségur" if "unreferenced" not in r.prefix_software else "non référencé (SAD)"
            )
            lines.append(
                _rank_line(
                    "F-SOFTWARE",
                    e,
                    ranks[e.finess_et],
                    r.software_full,
                    r.software_volume,
                    volume_from,
                    r.prefix_software,
                    label,
                )
            )
    return lines


@dataclass(frozen=True)
class SmallOg:
    """The project's ESSMS whose OG is « petit »: those it funds (`fundable`) open F-EQUIP and F-AMOA; those it
    leaves out (already funded, invalid…) do not (FAQN Q27 « participant ou portant un projet financé », Q30)."""

    funded: list[ProjectEssms]
    left_out: list[ProjectEssms]
    findings: list[Finding]

    def refusal(self, asked: str) -> str:
        if self.left_out:
            return (
                f"{asked}, mais le projet ne finance aucun ESSMS de petit OG : ses {len(self.left_out)} ESSMS de "
                "petits OG sont écartés du financement par un constat bloquant. Matériel et AMOA ne vont qu'à un "
                "projet qui finance au moins un ESSMS de petit OG."
            )
        return (
            f"{asked}, mais aucun ESSMS du projet ne relève d'un petit OG : matériel et AMOA ne vont qu'aux petits OG."
        )


def small_og_essms(project: Project) -> SmallOg:
    """ESSMS of the project whose OG is « petit » (AAP24 3.3.2 3), FAQN Q26-27), split by whether the project
    funds them. An OG whose size is not given is not assumed small; the finding says so. Read after every E-*
    rule has said which ESSMS are fundable."""
    ctx = project.context
    threshold = ctx.get("funding/small_og.small_og_threshold")
    threshold_oc = ctx.get("funding/small_og.small_og_threshold_overseas_corsica")
    small, unknown = [], []
    for e in project.essms:
        count = e.data.og_essms_count
        if count is None:
            unknown.append(e.finess_et)
            continue
        limit = threshold_oc if project.region_is_overseas_or_corsica(e.region) else threshold
        if count < limit.value:
            small.append(e)
    findings = []
    if unknown:
        findings.append(
            Finding(
                "E-HARDWARE",
                Verdict.A_APPRECIER,
                f"Nombre d'ESSMS de l'OG non indiqué pour {len(unknown)} ESSMS : ils ne sont pas comptés comme "
                "relevant d'un petit OG.",
                f"{source_of(threshold, threshold_oc)} ; DECISION D-SMALL-OG (docs/decisions.md)",
            )
        )
    return SmallOg([e for e in small if e.fundable], [e for e in small if not e.fundable], findings)


@rule("F-EQUIP", "AAP24 3.3.1 et 3.3.2 3) ; FAQN Q27, Q29, Q30 ; E-HARDWARE")
def equipment_line(project: Project, small: SmallOg) -> tuple[list[AmountLine], list[Finding]]:
    """Hardware for the small-OG ESSMS the project funds, with a DUI project: min(cap × those ESSMS, quotes, real
    expense)."""
    equipment = project.input.equipment
    if equipment is None or equipment.quotes_eur == 0:
        return [], []
    ctx = project.context
    cap = ctx.get("funding/small_og.equipment_cap_per_essms")
    src = source_of(cap)
    funded = small.funded
    if not funded:
        return [], [
            Finding(
                "E-HARDWARE",
                Verdict.BLOQUANT,
                small.refusal("Matériel demandé"),
                f"{src} ; FAQN Q27, Q30 (002_33fde754886c1227.txt) ; DECISION D-SMALL-OG-FUNDED (docs/decisions.md)",
            )
        ]
    bounds = {"devis": equipment.quotes_eur}
    if equipment.spent_eur is not None:
        bounds["dépense réelle"] = equipment.spent_eur
    if cap.value is not None:
        bounds[f"{format_eur(cap.value)} × {len(funded)} ESSMS de petits OG"] = cap.value * len(funded)
    which, amount = min(bounds.items(), key=lambda item: item[1])
    findings = [
        Finding(
            "E-HARDWARE",
            Verdict.OK if cap.value is not None else Verdict.A_APPRECIER,
            f"Matériel pour {len(funded)} ESSMS de petits OG : {format_eur(amount)}, limité par {which}"
            + ("" if cap.value is not None else " ; plafond non chiffré par les textes, l'ARS apprécie au cas par cas")
            + ".",
            src,
        )
    ]
    line = AmountLine(
        "F-EQUIP",
        None,
        None,
        amount,
        "Matériel et infrastructures (petits OG)",
        ctx.name("funding/small_og.equipment_cap_per_essms"),
        cap.value,
        src,
    )
    return [line], findings


@rule("F-AMOA", "AAP24 3.3.2 3) ; FAQN Q27, Q30")
def amoa_line(project: Project, small: SmallOg) -> tuple[list[AmountLine], list[Finding]]:
    """AMOA for groupings of small OGs, up to the cap per project, only for a project that funds at least one
    ESSMS of a small OG. A grappe where only some funded ESSMS are of small OGs is left to the ARS (the amount is
    shown); one that funds none gets nothing."""
    requested = project.input.amoa_eur
    if not requested:
        return [], []
    ctx = project.context
    cap = ctx.get("funding/small_og.amoa_cap_per_project")
    src = source_of(cap)
    if not small.funded:
        return [], [
            Finding(
                "F-AMOA",
                Verdict.BLOQUANT,
                small.refusal("AMOA demandée"),
                f"{src} ; FAQN Q27, Q30 (002_33fde754886c1227.txt) ; DECISION D-SMALL-OG-FUNDED (docs/decisions.md)",
            )
        ]
    amount = requested if cap.value is None else min(requested, cap.value)
    everyone_small = len(small.funded) == sum(e.fundable for e in project.essms)
    verdict = Verdict.OK if everyone_small and cap.value is not None else Verdict.A_APPRECIER
    message = f"AMOA : {format_eur(amount)} (demandé {format_eur(requested)}"
    message += (
        f", plafond {format_eur(cap.value)} par projet)."
        if cap.value is not None
        else (", forfait non chiffré par les textes : l'ARS module).")
    )
    if not everyone_small:
        message += (
            " Tous les OG de la grappe ne sont pas petits : l'ARS apprécie (« regroupements "
            "composés d'organismes de petite taille »)."
        )
    line = AmountLine(
        "F-AMOA",
        None,
        None,
        amount,
        "Assistance à maîtrise d'ouvrage (petits OG)",
        ctx.name("funding/small_og.amoa_cap_per_project"),
        cap.value,
        src,
    )
    finding_src = src if everyone_small else f"{src} ; DECISION D-SMALL-OG (docs/decisions.md)"
    return [line], [Finding("F-AMOA", verdict, message, finding_src)]


@rule("F-VAT", "AAP24 3.3.2")
def vat_basis(project: Project) -> list[Finding]:
    """Lump sums do not change with VAT; quotes and expenses are read in the porteur's regime."""
    src = "AAP24 3.3.2 (001_098b5f25fa5a095c.txt) ; DECISION D-VAT (docs/decisions.md)"
    regime = project.input.porteur.vat_regime
    if regime is None:
        return [
            Finding(
                "F-VAT",
                Verdict.A_APPRECIER,
                "Régime de TVA du porteur non indiqué : l'aide est calculée HT ou TTC selon ce régime ; "
                "devis et dépenses doivent être exprimés dans ce régime.",
                src,
            )
        ]
    return [
        Finding(
            "F-VAT",
            Verdict.OK,
            f"Montants exprimés {regime}, selon le régime de TVA du porteur ; devis et dépenses de "
            f"matériel et d'AMOA sont lus {regime}.",
            src,
        )
    ]


@dataclass(frozen=True)
class Payments:
    advance_eur: int
    balance_eur: int
    findings: list[Finding]


@rule("F-PAY", "AAP24 3.4 ; HDF22 échéancier ; FAQN Q32")
def payment_schedule(project: Project, desk: Desk, total: int) -> Payments:
    ctx = project.context
    share = ctx.get("payment.advance_share")
    upgrade = ctx.get("payment.deployment_months_upgrade")
    acquisition = ctx.get("payment.deployment_months_acquisition")
    advance = share_eur(total, share.value)
    message = (
        f"Avance de {format_share(share.value)} à la signature de la convention : {format_eur(advance)} ; solde "
        f"de {format_eur(total - advance)} à la fin du projet, si les cibles d'usage (U-*) sont atteintes "
        "et sur état récapitulatif des dépenses visé par le comptable public ou le commissaire aux comptes."
    )
    if desk.desk == "national":
        message += " Pas de durée indicative pour un projet national."
    else:
        months = acquisition if any(e.operation == "acquisition" for e in project.essms) else upgrade
        message += (
            f" Durée indicative du début du projet à la fin du déploiement : {months.value} mois (révisable par l'ARS)."
        )
    return Payments(
        advance,
        total - advance,
        [Finding("F-PAY", Verdict.OK, message, f"{source_of(share, upgrade, acquisition)} ; {ROUNDING}")],
    )


def compute_funding(project: Project, desk: Desk, unreferenced_rate: bool) -> Funding:
    funding = Funding()
    rates = {e.finess_et: _rates(project, e, unreferenced_rate) for e in project.essms if e.fundable}
    funding.ranks, findings = assign_ranks(project, rates)
    funding.findings += findings
    funding.lines += usage_lines(project, rates, funding.ranks)
    funding.lines += software_lines(project, rates, funding.ranks)
    small = small_og_essms(project)
    funding.findings += small.findings
    for compute in (equipment_line, amoa_line):
        lines, findings = compute(project, small)
        funding.lines += lines
        funding.findings += findings
    funding.findings += vat_basis(project)
    return funding
