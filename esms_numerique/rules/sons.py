"""SONS: what the State pays an éditeur for a Prestation Ségur order (S-ELIG by couloir, S-BAREME, S-ONCE,
S-CALENDAR)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .context import reading_date
from .finess import KeyStatus, check_key, normalize
from .inputs import SonsInput
from .money import format_eur, format_share, share_eur
from .parameters import ParameterTree, default_tree
from .results import Finding, Verdict, rule, source_of

DATE = "%d/%m/%Y"
SECTORS = "sectors.sectors"
SRC_ELIG = "HDF22 « Systeme Ouvert Non Sélectif — POUR QUI ? » (000_69ee26d990822291.txt) ; SONS23"


@dataclass
class SonsResult:
    couloir: str
    tranche: str | None
    rate_eur: int | None
    essms_count: int
    total_eur: int | None
    advance_eur: int | None
    balance_eur: int | None
    findings: list[Finding]

    def as_dict(self) -> dict[str, Any]:
        return {
            "couloir": self.couloir,
            "tranche": self.tranche,
            "rate_eur": self.rate_eur,
            "essms_count": self.essms_count,
            "total_eur": self.total_eur,
            "advance_eur": self.advance_eur,
            "balance_eur": self.balance_eur,
            "findings": [f.as_dict() for f in self.findings],
        }


def _on(inp: SonsInput, today: dt.date | None = None) -> dt.date:
    return reading_date(inp.ordered_on, today)


def _what(essms: dict) -> str:
    category = " ".join(part for part in (essms.get("category"), essms.get("category_label")) if part)
    return f"catégorie {category}" if category else "catégorie inconnue"


@rule("S-ELIG", "HDF22 « Systeme Ouvert Non Sélectif — POUR QUI ? » ; SONS23 (un couloir, un DSR par secteur)")
def couloir_eligibility(
    couloir: str,
    typed_sector: str | None,
    essms: list[dict],
    on: dt.date,
    tree: ParameterTree | None = None,
) -> list[Finding]:
    """Each ESSMS is ordered in the couloir of its own sector, as the registry gives it (category → sector,
    correctable with a reason): the couloirs and the sectors they serve are `sectors.yaml`. A sector typed on the
    order may only agree with the registry. `essms`: {"finess_et", "sector" ("" when the registry has none),
    "category", "category_label"}. HDF22's aggregate categories (4100, 4300, 4400, 4600) are MS1's list only and
    do not decide: 4600 holds DOM services and AHI's CHRS alike."""
    table = (tree or default_tree()).get(SECTORS).in_force(on)
    couloir_of = {row["code"]: row["couloir"] for row in table.value}
    served = [code for code, served_by in couloir_of.items() if served_by == couloir]
    src = f"{SRC_ELIG} ; {source_of(table)} ; DECISION D-SONS-COULOIR (docs/decisions.md)"
    findings = []
    if typed_sector and couloir_of.get(typed_sector) != couloir:
        right = couloir_of.get(typed_sector)
        findings.append(
            Finding(
                "S-ELIG",
                Verdict.BLOQUANT,
                f"Le secteur {typed_sector} indiqué sur la commande "
                + (f"relève du couloir {right}" if right else "n'est pas un secteur du programme")
                + f", pas de {couloir} (qui sert {', '.join(served)}).",
                src,
            )
        )
    for entry in essms:
        number, sector = normalize(entry["finess_et"]), entry.get("sector") or ""
        right = couloir_of.get(sector)
        if right is None:
            message = (
                f"L'ESSMS {number} ({_what(entry)}) n'a pas de secteur du programme : ce n'est pas un ESSMS "
                "du programme, il ne peut pas faire l'objet d'une Prestation Ségur."
            )
        elif right != couloir:
            message = (
                f"L'ESSMS {number} ({_what(entry)}, secteur {sector}) relève du couloir {right}, pas de {couloir}."
            )
        elif typed_sector and typed_sector in served and sector != typed_sector:
            message = (
                f"L'ESSMS {number} ({_what(entry)}) est du secteur {sector} au répertoire FINESS, pas {typed_sector} "
                "comme l'indique la commande : le secteur indiqué ne peut que confirmer celui du répertoire (qui se "
                "corrige, avec un motif, dans le répertoire)."
            )
        else:
            continue
        findings.append(Finding("S-ELIG", Verdict.BLOQUANT, message, src, number))
    if essms and not findings:
        sectors = sorted({entry["sector"] for entry in essms})
        named = f"du secteur {sectors[0]}" if len(sectors) == 1 else f"des secteurs {', '.join(sectors)}"
        findings.append(
            Finding(
                "S-ELIG",
                Verdict.OK,
                f"{len(essms)} ESSMS {named} au répertoire FINESS : ils relèvent du couloir {couloir}.",
                src,
            )
        )
    return findings


@rule("S-ONCE", "SONS23 ; FAQIDF (un financement par FINESS géographique et par type de DSR)")
def unique_essms(inp: SonsInput) -> tuple[list[str], list[Finding]]:
    src = "FAQIDF « Pour un FINESS Géographique donné… » (003_602b4b7069bd7466.txt) ; SONS23"
    kept: list[str] = []
    findings = []
    for raw in inp.finess_et:
        number = normalize(raw)
        status = check_key(number)
        if status in (KeyStatus.MALFORMED, KeyStatus.BAD_KEY):
            findings.append(
                Finding(
                    "E-FINESS",
                    Verdict.BLOQUANT,
                    f"Le FINESS ET « {raw} » n'est pas un numéro FINESS valide.",
                    "FAQN Q9 (002_33fde754886c1227.txt)",
                    number,
                )
            )
        elif number in kept:
            findings.append(
                Finding(
                    "S-ONCE",
                    Verdict.BLOQUANT,
                    f"L'ESSMS {number} est commandé deux fois : une seule Prestation Ségur "
                    "par ESSMS et par arrêté SONS.",
                    src,
                    number,
                )
            )
        else:
            kept.append(number)
    return kept, findings


@rule("S-BAREME", "HDF22 barème SONS ; SONS23")
def bareme(
    inp: SonsInput, tree: ParameterTree, on: dt.date | None = None
) -> tuple[str | None, int | None, list[Finding]]:
    """Rate per ESSMS by tranche of the OG's number of ESSMS in the reference FINESS snapshot."""
    on = on or _on(inp)
    snapshot = tree.get("sons/bareme.reference_snapshot")
    snapshot_value = snapshot.in_force(on)
    if not tree.has(f"sons/bareme.{inp.couloir}"):
        return (
            None,
            None,
            [
                Finding(
                    "S-BAREME",
                    Verdict.A_APPRECIER,
                    f"Le barème du couloir {inp.couloir} est fixé par son propre appel à financement, absent des "
                    "textes de référence : montant non calculé.",
                    "DECISION D-SONS-BAREME (docs/decisions.md)",
                )
            ],
        )
    parameter = tree.get(f"sons/bareme.{inp.couloir}")
    table = parameter.in_force(on)
    for row in table.value:
        if row["min"] <= inp.og_essms_count and (row["max"] is None or inp.og_essms_count <= row["max"]):
            upper = f"à {row['max']}" if row["max"] is not None else "et plus"
            return (
                row["tranche"],
                row["rate_eur"],
                [
                    Finding(
                        "S-BAREME",
                        Verdict.OK,
                        f"OG de {inp.og_essms_count} ESSMS ({snapshot_value.value}) : tranche {row['tranche']} "
                        f"({row['min']} {upper}), {format_eur(row['rate_eur'])} TTC par ESSMS.",
                        source_of(table, snapshot_value),
                    )
                ],
            )
    raise ValueError(f"barème {inp.couloir} sans tranche pour {inp.og_essms_count} ESSMS")


@rule("S-CALENDAR", "SONS23 calendrier de dépôt des commandes")
def order_calendar(inp: SonsInput, tree: ParameterTree, on: dt.date | None = None) -> list[Finding]:
    table = tree.get("sons/calendar.couloirs")
    rows = [row for row in table.in_force(on or _on(inp)).value if row["couloir"] == inp.couloir]
    if inp.sector:
        rows = [row for row in rows if inp.sector in row["sectors"]]
    src = f"{source_of(table.values[-1])} ; DECISION D-SONS-CALENDAR (docs/decisions.md)"
    if not rows:
        return [
            Finding(
                "S-CALENDAR", Verdict.BLOQUANT, f"Le secteur {inp.sector} ne relève pas du couloir {inp.couloir}.", src
            )
        ]
    if len(rows) > 1:
        sectors = " / ".join(s for row in rows for s in row["sectors"])
        return [
            Finding(
                "S-CALENDAR",
                Verdict.A_APPRECIER,
                f"Le couloir {inp.couloir} a un calendrier par secteur ({sectors}) : indiquez le secteur.",
                src,
            )
        ]
    row = rows[0]
    forecast = " (date prévisionnelle)" if row["forecast"] else ""
    if inp.ordered_on is None:
        return [
            Finding(
                "S-CALENDAR",
                Verdict.A_APPRECIER,
                f"Date de commande non indiquée ; commandes jusqu'au {row['orders_close']:{DATE}}{forecast}.",
                src,
            )
        ]
    if row["orders_open"] and inp.ordered_on < row["orders_open"]:
        return [
            Finding(
                "S-CALENDAR",
                Verdict.BLOQUANT,
                f"Commande du {inp.ordered_on:{DATE}} avant l'ouverture du couloir ({row['orders_open']:{DATE}}).",
                src,
            )
        ]
    if inp.ordered_on > row["orders_close"]:
        return [
            Finding(
                "S-CALENDAR",
                Verdict.BLOQUANT,
                f"Commande du {inp.ordered_on:{DATE}} après la fermeture des commandes du couloir "
                f"({row['orders_close']:{DATE}}{forecast}) : l'avance ne peut plus être demandée.",
                src,
            )
        ]
    opened = f"depuis le {row['orders_open']:{DATE}}" if row["orders_open"] else "depuis l'arrêté au JO"
    return [
        Finding(
            "S-CALENDAR",
            Verdict.OK,
            f"Commande du {inp.ordered_on:{DATE}} : commandes ouvertes {opened} jusqu'au "
            f"{row['orders_close']:{DATE}}{forecast} ; demandes de solde jusqu'au "
            f"{row['balance_close']:{DATE}}{forecast}.",
            src,
        )
    ]


def simulate_sons(
    inp: SonsInput,
    tree: ParameterTree | None = None,
    today: dt.date | None = None,
    registry_findings: list[Finding] | None = None,
) -> SonsResult:
    """`today`: the caller's clock, read when the order has no date (the platform passes its own date).
    `registry_findings`: what the caller learnt describing the ESSMS from the FINESS registry. An ESSMS that
    S-ELIG refuses in this couloir is not counted in the amount."""
    tree = tree or default_tree()
    on = _on(inp, today)
    essms, findings = unique_essms(inp)
    tranche, rate, bareme_findings = bareme(inp, tree, on)
    findings = bareme_findings + findings + (registry_findings or [])
    if inp.essms is not None:
        described = [entry.as_rule_input() for entry in inp.essms]
        eligibility = couloir_eligibility(inp.couloir, inp.sector, described, on, tree)
        refused = {f.finess_et for f in eligibility if f.verdict == Verdict.BLOQUANT and f.finess_et}
        essms = [number for number in essms if number not in refused]
        findings += eligibility
    findings += order_calendar(inp, tree, on)
    if rate is None:
        return SonsResult(inp.couloir, tranche, None, len(essms), None, None, None, findings)
    total = rate * len(essms)
    share = tree.get("sons/flow.advance_share")
    share_value = share.in_force(on)
    advance = share_eur(total, share_value.value)
    findings.append(
        Finding(
            "S-FLOW",
            Verdict.OK,
            f"{len(essms)} ESSMS × {format_eur(rate)} = {format_eur(total)} TTC payés à l'éditeur par l'ASP : "
            f"avance de {format_share(share_value.value)} ({format_eur(advance)}) à la commande, "
            f"solde ({format_eur(total - advance)}) après la VA signée par l'OG.",
            f"{source_of(share_value)} ; DECISION D-ROUNDING (docs/decisions.md)",
        )
    )
    return SonsResult(inp.couloir, tranche, rate, len(essms), total, advance, total - advance, findings)
