"""What is paid after the decision (F-PAY): the advance, and the balance computed line by line — the engaged amount
less the advance paid, less the hardware and AMOA funded but not spent (F-EQUIP, F-AMOA: « dans la limite des devis
et de la dépense réelle »). And what is owed back when more was paid than is due."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .money import format_eur
from .results import rule

SRC_PAY = "AAP24 3.4 (001_098b5f25fa5a095c.txt) ; HDF22 échéancier ; DECISION D-PAYMENT-REQUESTS (docs/decisions.md)"
SRC_SPENT = "AAP24 3.3.2 3) « dans la limite des devis et de la dépense réelle » (001_098b5f25fa5a095c.txt) ; FAQN Q29"


@dataclass(frozen=True)
class PaymentLine:
    rule: str
    label: str
    amount_eur: int  # signed: a reduction is negative
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "label": self.label, "amount_eur": self.amount_eur, "source": self.source}


@dataclass(frozen=True)
class Computation:
    lines: list[PaymentLine] = field(default_factory=list)

    @property
    def total_eur(self) -> int:
        return sum(line.amount_eur for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {"lines": [line.as_dict() for line in self.lines], "total_eur": self.total_eur}


def _funded(lines: list[dict[str, Any]], rule_id: str) -> int:
    return sum(line["amount_eur"] for line in lines if line["rule"] == rule_id)


@rule("F-PAY-BALANCE", "AAP24 3.4 ; HDF22 échéancier ; FAQN Q29 (F-PAY, F-EQUIP, F-AMOA)")
def balance_due(
    engaged_eur: int,
    advance_paid_eur: int,
    funded_lines: list[dict[str, Any]],
    equipment_spent_eur: int | None,
    amoa_spent_eur: int | None,
) -> Computation:
    """The balance: engaged − advance paid − (hardware funded − spent) − (AMOA funded − spent), never below zero.
    A spending not declared is read as the amount funded (nothing to reduce); `funded_lines` are the retained
    result's amount lines."""
    lines = [
        PaymentLine("F-PAY", "Montant engagé", engaged_eur, SRC_PAY),
        PaymentLine("F-PAY", "Avance versée", -advance_paid_eur, SRC_PAY),
    ]
    for rule_id, label, spent in (
        ("F-EQUIP", "matériel", equipment_spent_eur),
        ("F-AMOA", "AMOA", amoa_spent_eur),
    ):
        funded = _funded(funded_lines, rule_id)
        if funded and spent is not None and spent < funded:
            lines.append(
                PaymentLine(
                    rule_id,
                    f"Dépense réelle de {label} ({format_eur(spent)}) inférieure au montant financé "
                    f"({format_eur(funded)})",
                    spent - funded,
                    SRC_SPENT,
                )
            )
    computation = Computation(lines)
    if computation.total_eur < 0:
        lines.append(
            PaymentLine("F-PAY", "Solde ramené à zéro (le trop-perçu se recouvre)", -computation.total_eur, SRC_PAY)
        )
    return Computation(lines)


@rule("F-PAY-RECOVERY", "AAP24 3.4 (F-PAY) ; DECISION D-RECOVERY")
def overpaid(paid_eur: int, due_eur: int) -> int:
    """What is owed back (ordre de reversement) when more was paid than is now due."""
    return max(0, paid_eur - due_eur)
