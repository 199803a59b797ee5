"""Response schemas of the JSON API (the request schemas are the rules core's own inputs)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, Field

from esms_numerique.rules.parameters import default_tree

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
    code: str = Field(
        "",
        description="Code stable de l'erreur (docs/api.md) : entree_invalide, refus_regle, non_authentifie, "
        "jeton_invalide, portee_insuffisante, interdit, introuvable, conflit_de_version, trop_volumineux, "
        "trop_de_requetes",
    )
    detail: str
    errors: list[str] = Field(description="Messages en français : chacun nomme son champ ou sa règle")
    rules: list[str] = Field(default_factory=list, description="Identifiants des règles citées (SPEC.md)")


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


# To the microsecond (JSON's usual milliseconds would make `modifie_depuis` return the last object again).
CHANGED_AT = Field(
    None,
    description="Dernier changement, à la microseconde : la valeur à redonner dans `modifie_depuis`",
    json_schema_extra={"format": "date-time"},
)


def changed_at_text(obj) -> str | None:
    at = getattr(obj, "changed_at", None)
    return at.isoformat() if at is not None else None


class TransitionInputOut(Schema):
    name: str
    label: str
    kind: str
    required: bool


class TransitionOut(Schema):
    name: str
    label: str
    inputs: list[TransitionInputOut]


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
    changed_at: str | None = CHANGED_AT

    @staticmethod
    def resolve_changed_at(obj) -> str | None:
        return changed_at_text(obj)

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
    essms: list[LedgerEssmsOut] = Field(description="Les ESSMS de la grappe (registre des ESSMS financés)")
    grappe: dict[str, Any] = Field(description="La grappe, au format d'entrée du simulateur")
    findings: list[FindingOut] = Field(description="Constats des règles sur l'état courant")
    input_errors: list[str] = Field(description="Ce qui manque à la grappe pour être simulée")
    transitions: list[TransitionOut] = Field(default_factory=list, description="Actions possibles pour l'appelant")

    @staticmethod
    def resolve_transitions(obj) -> list:
        return getattr(obj, "transitions_offered", [])

    @staticmethod
    def resolve_essms(obj) -> list:
        return list(obj.ledger_rows.all())

    @staticmethod
    def resolve_findings(obj) -> list:
        return obj.result.get("findings", [])

    @staticmethod
    def resolve_input_errors(obj) -> list[str]:
        return obj.result.get("errors", [])


# ---------------------------------------------------------------------------------------------------------------
# Partner API (issue 14): pages of a list, SONS orders, dossiers' writes, webhooks.


class ListQuery(Schema):
    """Every list: what changed after `modifie_depuis` (ISO-8601), in the order of the last change then the id,
    a page at a time (DECISION D-API-SYNC)."""

    modifie_depuis: dt.datetime | None = Field(
        None, description="Seulement ce qui a changé après cet instant (ISO-8601, ex. 2024-03-11T08:00:00+01:00)"
    )
    curseur: str = Field("", max_length=200, description="Le `next_cursor` de la page précédente")
    taille: int = Field(50, ge=1, le=200, description="Éléments par page (200 au plus)")


def _parameter_values(name: str, column: str) -> tuple[str, ...]:
    """Every value a column of a dated table parameter has held, in order: the couloirs of the SONS calendar
    (S-CALENDAR), the sectors (sectors.yaml). Read once, when the API loads; a new dated value needs a restart."""
    rows = (row for dated in default_tree().get(name).values for row in dated.value)
    return tuple(dict.fromkeys(row[column] for row in rows))


COULOIRS = _parameter_values("sons/calendar.couloirs", "couloir")
SECTORS = ("", *_parameter_values("sectors.sectors", "code"))


class OrderItemIn(BaseModel):
    finess_et: str = Field(min_length=9, max_length=9, examples=["350000022"])
    current_version: str = Field(max_length=64, description="Version du DUI installée", examples=["4.2"])
    target_version: str = Field("", max_length=64, description="Version cible", examples=["5.0"])


class OrderIn(BaseModel):
    couloir: Literal[COULOIRS] = Field(description="Couloir du calendrier SONS (sons/calendar.yaml)")
    og_finess_ej: str = Field(min_length=9, max_length=9, description="FINESS EJ de l'OG client qui signe")
    other_og_finess_ej: list[str] = Field(
        default_factory=list, max_length=50, description="Autres OG clients de la même commande (cas B)"
    )
    solution: int = Field(ge=1, le=2_147_483_647, description="Numéro de la solution (GET /api/sons/solutions)")
    sector: Literal[SECTORS] = Field(
        "", description="Secteur (sectors.yaml), pour le calendrier du couloir (S-CALENDAR) ; vide : celui des ESSMS"
    )
    signed_on: dt.date = Field(description="Date de signature du bon de commande")
    essms: list[OrderItemIn] = Field(min_length=1, max_length=500)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "couloir": "MS1",
                    "og_finess_ej": "350000014",
                    "solution": 1,
                    "sector": "PA",
                    "signed_on": "2023-05-01",
                    "essms": [{"finess_et": "350000022", "current_version": "4.2", "target_version": "5.0"}],
                }
            ]
        }
    }


class SolutionOut(Schema):
    id: int
    name: str
    version: str
    couloir: str
    referencing: str


class OrderOut(Schema):
    reference: str
    version: int
    state: str
    state_label: str
    couloir: str
    og_finess_ej: str
    solution: str
    editor: str
    signed_on: dt.date
    total_eur: int | None
    advance_eur: int | None
    balance_eur: int | None
    advance_paid_eur: int | None
    balance_paid_eur: int | None
    recovery_eur: int | None
    signed_form: bool = Field(description="Bon de commande signé déposé")
    changed_at: str | None = CHANGED_AT

    @staticmethod
    def resolve_state_label(obj) -> str:
        return obj.get_state_display()

    @staticmethod
    def resolve_og_finess_ej(obj) -> str:
        return obj.og.finess_ej

    @staticmethod
    def resolve_solution(obj) -> str:
        return f"{obj.solution.name} {obj.solution.version}"

    @staticmethod
    def resolve_editor(obj) -> str:
        return obj.solution.editor.name

    @staticmethod
    def resolve_signed_on(obj) -> dt.date:
        return obj.ordered_on

    @staticmethod
    def resolve_total_eur(obj) -> int | None:
        return obj.result.get("total_eur")

    @staticmethod
    def resolve_advance_eur(obj) -> int | None:
        return obj.result.get("advance_eur")

    @staticmethod
    def resolve_balance_eur(obj) -> int | None:
        return obj.result.get("balance_eur")

    @staticmethod
    def resolve_signed_form(obj) -> bool:
        return hasattr(obj, "signed_form")

    @staticmethod
    def resolve_changed_at(obj) -> str | None:
        return changed_at_text(obj)


class OrderItemOut(Schema):
    finess_et: str
    current_version: str
    target_version: str
    va_complete: bool

    @staticmethod
    def resolve_finess_et(obj) -> str:
        return obj.establishment.finess_et


class OrderDetailOut(OrderOut):
    essms: list[OrderItemOut]
    findings: list[FindingOut]
    transitions: list[TransitionOut] = Field(description="Actions que l'appelant peut faire maintenant")

    @staticmethod
    def resolve_transitions(obj) -> list:
        return obj.transitions_offered


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="Curseur de la page suivante ; null après la dernière")


class OrderTransitionIn(BaseModel):
    """The inputs the transition declares (sons/workflow.py); the others are ignored."""

    transition: str = Field(max_length=64, examples=["demander_avance"])
    version: int = Field(ge=0, le=2_147_483_647, description="La `version` lue : refus 409 si elle a changé")
    comment: str = Field("", max_length=5000, description="Motif (obligatoire pour « annuler »)")
    date: dt.date | None = None
    payment_reference: str = Field("", max_length=64)

    model_config = {"json_schema_extra": {"examples": [{"transition": "demander_avance", "version": 1}]}}


class DossierIn(BaseModel):
    title: str = Field(min_length=1, max_length=255, examples=["Grappe DUI Bretagne"])
    campaign: str = Field(max_length=8, examples=["2024"])
    grappe: dict[str, Any] = Field(
        description="La grappe, au format d'entrée du simulateur (SimulationInput) sans `campaign` ni `filed_on`"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Grappe DUI Bretagne",
                    "campaign": "2024",
                    "grappe": {
                        "porteur": {"finess_ej": "350000014", "vat_regime": "TTC"},
                        "solution": {"segur_referenced": True},
                        "operation": "acquisition",
                        "essms": [{"finess_et": "350000022"}],
                    },
                }
            ]
        }
    }


class GrappeIn(BaseModel):
    version: int = Field(ge=0, le=2_147_483_647)
    title: str = Field("", max_length=255, description="Vide : l'intitulé ne change pas")
    grappe: dict[str, Any]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "version": 1,
                    "grappe": {
                        "porteur": {"finess_ej": "350000014", "vat_regime": "TTC"},
                        "solution": {"segur_referenced": True},
                        "operation": "acquisition",
                        "essms": [{"finess_et": "350000022"}, {"finess_et": "350000030"}],
                    },
                }
            ]
        }
    }


class MessageIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)
    private: bool = Field(False, description="Annotation privée des instructeurs")

    model_config = {"json_schema_extra": {"examples": [{"body": "Le devis signé est joint.", "private": False}]}}


class MessageOut(Schema):
    id: int
    at: dt.datetime
    author: str
    body: str
    private: bool
    changed_at: str | None = CHANGED_AT

    @staticmethod
    def resolve_changed_at(obj) -> str | None:
        return changed_at_text(obj)

    @staticmethod
    def resolve_author(obj) -> str:
        return obj.author.get_username()


class PieceOut(Schema):
    id: int
    code: str
    original_name: str
    size: int
    sha256: str


class SignedFormOut(Schema):
    reference: str
    original_name: str
    sha256: str

    @staticmethod
    def resolve_reference(obj) -> str:
        return obj.order.reference


class WebhookIn(BaseModel):
    url: str = Field(max_length=500, examples=["https://partenaire.example/esms/webhook"])
    secret: str = Field(min_length=16, max_length=200, description="Secret partagé de la signature HMAC-SHA256")

    model_config = {
        "json_schema_extra": {
            "examples": [{"url": "https://partenaire.example/esms/webhook", "secret": "un-secret-partage-long"}]
        }
    }


class WebhookOut(Schema):
    id: int
    url: str
    active: bool
    created_at: dt.datetime
    changed_at: str | None = CHANGED_AT

    @staticmethod
    def resolve_changed_at(obj) -> str | None:
        return changed_at_text(obj)


class DeliveryOut(Schema):
    delivery_id: str
    event: str
    reference: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None

    @staticmethod
    def resolve_delivery_id(obj) -> str:
        return str(obj.delivery_id)

    changed_at: str | None = CHANGED_AT

    @staticmethod
    def resolve_changed_at(obj) -> str | None:
        return changed_at_text(obj)


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="Curseur de la page suivante ; null après la dernière")


class WebhookPage(Schema):
    items: list[WebhookOut]
    next_cursor: str | None = Field(description="Curseur de la page suivante ; null après la dernière")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Curseur de la page suivante ; null après la dernière")


class DossierPage(Schema):
    items: list[DossierOut]
    next_cursor: str | None = Field(description="Curseur de la page suivante ; null après la dernière")
