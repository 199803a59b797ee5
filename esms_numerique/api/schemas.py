"""Response schemas of the JSON API (the request schemas are the rules core's own inputs)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
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
    required_pieces: list[str] = Field(description="Codes des pièces que E-PIECES demande à ce projet")


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


class LegalEntityOut(Schema):
    finess_ej: str
    name: str
    department: str
    region: str
    siren: str
    legal_status_label: str
    from_ej_extract: bool


class EstablishmentOut(Schema):
    finess_et: str
    name: str
    long_name: str
    department: str
    region: str
    postal_line: str
    category: str
    category_label: str
    aggregate_category: str
    siret: str
    sector: str = Field(description="Secteur retenu : la correction s'il y en a une, sinon la table des catégories")
    sector_from_category: str
    sector_override_reason: str
    opened_on: dt.date | None
    closed: bool
    legal_entity: LegalEntityOut

    @staticmethod
    def resolve_sector(obj) -> str:
        return obj.effective_sector

    @staticmethod
    def resolve_sector_from_category(obj) -> str:
        return obj.sector

    @staticmethod
    def resolve_closed(obj) -> bool:
        return obj.closed_snapshot_id is not None


class DossierOut(Schema):
    reference: str
    version: int
    title: str
    campaign: str
    porteur_finess_ej: str
    state: str
    state_label: str
    desk: str
    pivot_region: str
    total_eur: int | None
    engaged_eur: int | None
    advance_paid_eur: int | None
    balance_paid_eur: int | None
    filed_at: dt.datetime | None

    @staticmethod
    def resolve_porteur_finess_ej(obj) -> str:
        return obj.porteur.finess_ej

    @staticmethod
    def resolve_total_eur(obj) -> int | None:
        return (obj.filed_result or obj.result).get("total_eur")


class LedgerEssmsOut(Schema):
    finess_et: str
    operation: str
    fundable: bool
    rank: int | None
    amount_eur: int | None
    state: str
    holds: bool


class DossierDetailOut(DossierOut):
    essms: list[LedgerEssmsOut]

    @staticmethod
    def resolve_essms(obj) -> list:
        return list(obj.ledger_rows.all())
