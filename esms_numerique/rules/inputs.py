"""What a simulation is given: a project (grappe) or a SONS order, validated before any rule runs.

Field names and meanings are the platform's public contract (CLI, API, web). Extra fields are accepted
and ignored, so that a dossier can carry more than the simulator reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .context import LATEST, available_campaigns
from .errors import InputError
from .finess import normalize
from .parameters import default_tree

Sector = Literal["PA", "PH", "DOM", "PDS", "PDE", "AHI", "PJM"]
Operation = Literal["acquisition", "upgrade"]
Couloir = Literal["MS1", "MS2", "MS3"]

# Bounds of every number an input carries (DECISION D-LIMITS, docs/decisions.md): far above any real project,
# low enough that no rule, page or database column meets a number it cannot hold.
MAX_OG_ESSMS = 100_000  # ESSMS of one OG (France counts about 40 000 ESSMS in all)
MAX_SAAD_HOURS = 100_000_000  # hours of one SAAD in a year
MAX_AMOUNT_EUR = 2_147_483_647  # any amount in euros (the platform stores amounts as 32-bit integers)
MAX_ESSMS_PARAMETER = "limits.simulation_max_essms"


def max_essms(on: dt.date | None = None) -> int:
    """How many ESSMS a simulation or a SONS order may name (dated parameter; the latest value without a date)."""
    return default_tree().get(MAX_ESSMS_PARAMETER).in_force(on or LATEST).value


def too_many_essms(count: int, on: dt.date | None = None) -> str | None:
    """The French refusal of a grappe over the cap, or None."""
    limit = max_essms(on)
    if count <= limit:
        return None
    shown = f"{limit:,d}".replace(",", "\u202f")
    return f"au plus {shown} ESSMS par simulation (limite de la plateforme, D-LIMITS) ; reçu {count}"


def _day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return value if isinstance(value, dt.date) else None


def refuse_oversized_grappe(data: object) -> None:
    """InputError for a grappe over the cap, before anything (the registry's completion included) reads its ESSMS."""
    essms = data.get("essms") if isinstance(data, dict) else None
    if isinstance(essms, list):
        refusal = too_many_essms(len(essms), _day(data.get("filed_on")))
        if refusal:
            raise InputError([f"champ « essms » : {refusal}"])


class _Input(BaseModel):
    # No NaN nor Infinity anywhere (DECISION D-LIMITS).
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, allow_inf_nan=False)


class SaadHours(_Input):
    """Annexe 1 of AAP24: hours of year N-1."""

    medico_social: float = Field(
        ge=0, le=MAX_SAAD_HOURS, description="Heures médico-sociales (APA, PCH, autres financées)"
    )
    total: float = Field(ge=0, le=MAX_SAAD_HOURS, description="Nombre total d'heures réalisées")


class Porteur(_Input):
    finess_ej: str | None = None
    name: str | None = None
    vat_regime: Literal["HT", "TTC"] | None = None
    is_ght: bool = False


class Solution(_Input):
    name: str | None = None
    editor: str | None = None
    segur_referenced: bool = False
    sad_referenced: bool = False
    referencing: Literal["referenced", "in_progress", "engaged", "none"] | None = Field(
        default=None, description="État du référencement Ségur si la solution n'est pas encore référencée"
    )
    couloir: Literal["medico_social", "hospital"] = "medico_social"
    referenced_couloirs: list[Couloir] | None = Field(
        default=None, description="Couloirs médico-sociaux où la solution est référencée (tous si absent)"
    )
    ght_public_contract: bool | None = None
    ght_coverage_document: bool | None = None
    ght_no_other_funding: bool | None = None


class Essms(_Input):
    finess_et: str = Field(min_length=1)
    finess_ej: str | None = None
    name: str | None = None
    department: str | None = None
    sector: Sector
    operation: Operation
    og_essms_count: int | None = Field(default=None, ge=1, le=MAX_OG_ESSMS)
    category: str | None = None
    saad_hours: SaadHours | None = None
    national_entity: bool = False
    sons_order: bool = False
    sons_va_date: dt.date | None = None


class PreviousFunding(_Input):
    finess_et: str
    scheme: Literal["esms_numerique", "sons", "feder", "fse"]
    operation: Operation | None = None
    year: int | None = Field(default=None, ge=2000, le=2100)


class Equipment(_Input):
    quotes_eur: int = Field(default=0, ge=0, le=MAX_AMOUNT_EUR)
    spent_eur: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_EUR)


class SimulationInput(_Input):
    campaign: str
    operation: Operation | None = Field(
        default=None, description="Opération des ESSMS qui n'en indiquent pas (liste de FINESS seuls)"
    )
    filed_on: dt.datetime | dt.date | None = None
    porteur: Porteur = Field(default_factory=Porteur)
    solution: Solution = Field(default_factory=Solution)
    essms: list[Essms] = Field(min_length=1)
    equipment: Equipment | None = None
    amoa_eur: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_EUR)
    previous_fundings: list[PreviousFunding] = Field(default_factory=list)
    pieces: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def project_operation_applies_to_each_essms(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("operation") and isinstance(data.get("essms"), list):
            data = {
                **data,
                "essms": [{"operation": data["operation"], **e} if isinstance(e, dict) else e for e in data["essms"]],
            }
        return data

    @field_validator("filed_on", mode="before")
    @classmethod
    def date_alone_is_a_date(cls, value: object) -> object:
        """« 2024-03-10 » is a day, not midnight: E-WINDOW treats a day as wholly inside or outside."""
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                return value
        return value

    @field_validator("essms", mode="before")
    @classmethod
    def grappe_within_the_cap(cls, value: object, info: ValidationInfo) -> object:
        """Counted before any ESSMS is validated: an oversized grappe costs nothing (DECISION D-LIMITS)."""
        if isinstance(value, list):
            refusal = too_many_essms(len(value), _day(info.data.get("filed_on")))
            if refusal:
                raise ValueError(refusal)
        return value

    @field_validator("campaign")
    @classmethod
    def known_campaign(cls, value: str) -> str:
        known = available_campaigns()
        if value not in known:
            raise ValueError(f"campagne inconnue « {value} » (connues : {', '.join(known)})")
        return value


class SonsEssms(_Input):
    """An ordered ESSMS as the FINESS registry describes it (S-ELIG by couloir)."""

    finess_et: str = Field(min_length=1)
    sector: Sector | Literal[""] = Field(
        default="", description="Secteur du répertoire (vide : la catégorie n'est pas un ESSMS du programme)"
    )
    category: str = Field(default="", description="Catégorie FINESS de l'établissement")
    category_label: str = Field(default="", description="Libellé de la catégorie FINESS")

    @field_validator("sector", "category", "category_label", mode="before")
    @classmethod
    def null_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    def as_rule_input(self) -> dict[str, str]:
        return {
            "finess_et": self.finess_et,
            "sector": self.sector,
            "category": self.category,
            "category_label": self.category_label,
        }


class SonsInput(_Input):
    couloir: Couloir
    sector: Sector | None = None
    og_essms_count: int = Field(ge=1, le=MAX_OG_ESSMS)
    finess_et: list[str] = Field(min_length=1)
    ordered_on: dt.date | None = None
    essms: list[SonsEssms] | None = Field(
        default=None,
        description="Secteur et catégorie de chaque ESSMS commandé, tels que le répertoire FINESS les donne ; "
        "présents, S-ELIG vérifie que chacun relève du couloir",
    )

    @field_validator("finess_et", "essms", mode="before")
    @classmethod
    def order_within_the_cap(cls, value: object) -> object:
        """Counted before any ESSMS is validated (DECISION D-LIMITS)."""
        if isinstance(value, list):
            refusal = too_many_essms(len(value))
            if refusal:
                raise ValueError(refusal.replace("par simulation", "par commande"))
        return value

    @field_validator("essms")
    @classmethod
    def described_essms_are_ordered(cls, value: list[SonsEssms] | None, info: ValidationInfo) -> object:
        ordered = {normalize(number) for number in info.data.get("finess_et", [])}
        for index, entry in enumerate(value or []):
            if ordered and normalize(entry.finess_et) not in ordered:
                raise ValueError(f"essms[{index}] : l'ESSMS {entry.finess_et} n'est pas dans la liste finess_et")
        return value
