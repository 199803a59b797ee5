"""What rules return: findings with a verdict, amount lines, and the registry of rule IDs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
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
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        return data


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
        return asdict(self)


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
