"""Response schemas of the JSON API (the request schemas are the rules core's own inputs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

VerdictOut = Literal["bloquant", "a_apprecier", "ok"]


class FindingOut(BaseModel):
    rule: str = Field(description="Identifiant de la règle (SPEC.md), par ex. E-SEGUR")
    verdict: VerdictOut
    message: str
    source: str = Field(description="Texte et section d'où vient la règle ou la valeur")
    finess_et: str | None = None


class LineOut(BaseModel):
    rule: str
    finess_et: str | None
    rank: int | None
    amount_eur: int
    label: str
    parameter: str = Field(description="Paramètre daté lu (fichier.nom)")
    parameter_value: Any
    source: str
    prorata: str | None = None


class EssmsOut(BaseModel):
    finess_et: str
    department: str
    region: str
    sector: str
    operation: str
    rank: int | None
    fundable: bool


class SimulationOut(BaseModel):
    campaign: str
    campaign_label: str
    desk: Literal["regional", "national"] | None
    pivot_region: str | None = Field(description="Code région INSEE de l'ARS pivot")
    pivot_region_name: str | None
    essms_count: int
    usage_eur: int
    software_eur: int
    equipment_eur: int
    amoa_eur: int
    total_eur: int
    advance_eur: int
    balance_eur: int
    admissible: bool = Field(description="Vrai si aucun constat n'est bloquant")
    findings: list[FindingOut]
    lines: list[LineOut]
    essms: list[EssmsOut]


class SonsOut(BaseModel):
    couloir: str
    tranche: str | None
    rate_eur: int | None
    essms_count: int
    total_eur: int | None
    advance_eur: int | None
    balance_eur: int | None
    findings: list[FindingOut]


class ErrorOut(BaseModel):
    detail: str
    errors: list[str]


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
