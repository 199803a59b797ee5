"""What rules return: findings with a verdict, amount lines, and the registry of rule IDs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from .parameters import DatedValue


class Verdict(StrEnum):
    BLOQUANT = "bloquant"
    A_APPRECIER = "a_apprecier"
    OK = "ok"


VERDICT_LABELS = {
    Verdict.BLOQUANT: "Bloquant",
    Verdict.A_APPRECIER: "À apprécier par l'ARS",
    Verdict.OK: "Conforme",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    verdict: Verdict
    message: str
    source: str
    finess_et: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # Written out: dataclasses.asdict deep-copies field by field, half the rules core's time at national scale.
        return {
            "rule": self.rule,
            "verdict": str(self.verdict),
            "message": self.message,
            "source": self.source,
            "finess_et": self.finess_et,
        }


@dataclass(frozen=True)
class AmountLine:
    rule: str
    finess_et: str | None
    rank: int | None
    amount_eur: int
    label: str
    parameter: str
    parameter_value: Any
    source: str
    prorata: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Like dataclasses.asdict: the parameter's value is a copy, never the parameter tree's own object."""
        value = self.parameter_value
        return {
            "rule": self.rule,
            "finess_et": self.finess_et,
            "rank": self.rank,
            "amount_eur": self.amount_eur,
            "label": self.label,
            "parameter": self.parameter,
            "parameter_value": value if isinstance(value, str | int | float | bool | None) else copy.deepcopy(value),
            "source": self.source,
            "prorata": self.prorata,
        }


def source_of(*values: DatedValue) -> str:
    return " ; ".join(dict.fromkeys(str(v.reference) for v in values))


RULES: dict[str, str] = {}
F = TypeVar("F", bound=Callable[..., Any])


def rule(rule_id: str, texts: str) -> Callable[[F], F]:
    """Names the rule (SPEC.md ID) a function implements and the texts it comes from."""

    def register(function: F) -> F:
        if rule_id in RULES and RULES[rule_id] != function.__qualname__:
            raise RuntimeError(f"{rule_id} est déjà implémentée par {RULES[rule_id]}")
        RULES[rule_id] = function.__qualname__
        function.rule_id = rule_id  # type: ignore[attr-defined]
        function.texts = texts  # type: ignore[attr-defined]
        return function

    return register
