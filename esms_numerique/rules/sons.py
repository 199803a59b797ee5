"""SONS: what the State pays an éditeur for a Prestation Ségur order (S-BAREME, S-ONCE, S-CALENDAR)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .finess import KeyStatus, check_key, normalize
from .inputs import SonsInput
from .money import format_eur, format_share, share_eur
from .parameters import ParameterTree, default_tree
from .results import Finding, Verdict, rule, source_of

DATE = "%d/%m/%Y"


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


def _on(inp: SonsInput) -> dt.date:
    return inp.ordered_on or dt.date.today()


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
def bareme(inp: SonsInput, tree: ParameterTree) -> tuple[str | None, int | None, list[Finding]]:
    """Rate per ESSMS by tranche of the OG's number of ESSMS in the reference FINESS snapshot."""
    on = _on(inp)
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
def order_calendar(inp: SonsInput, tree: ParameterTree) -> list[Finding]:
    table = tree.get("sons/calendar.couloirs")
    rows = [row for row in table.in_force(_on(inp)).value if row["couloir"] == inp.couloir]
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


def simulate_sons(inp: SonsInput, tree: ParameterTree | None = None) -> SonsResult:
    tree = tree or default_tree()
    essms, findings = unique_essms(inp)
    tranche, rate, bareme_findings = bareme(inp, tree)
    findings = bareme_findings + findings + order_calendar(inp, tree)
    if rate is None:
        return SonsResult(inp.couloir, tranche, None, len(essms), None, None, None, findings)
    total = rate * len(essms)
    share = tree.get("sons/flow.advance_share")
    share_value = share.in_force(_on(inp))
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
