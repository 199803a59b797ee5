"""The JSON API (django-ninja), with its OpenAPI schema at /api/openapi.json."""

import datetime as dt
import json
import math

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import HttpError, Throttled, ValidationError
from ninja.pagination import PageNumberPagination, paginate
from ninja.parser import Parser
from ninja.responses import Status
from ninja.security import django_auth

from esms_numerique import clock
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.services import DossierError, StaleDossier, apply_transition
from esms_numerique.indicators.services import MeasurementError, final_status, record_measurements
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.registry.queries import search_establishments
from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError, decode_json, french_messages, parse
from esms_numerique.rules.inputs import SimulationInput, SonsInput, refuse_oversized_grappe
from esms_numerique.rules.sons import simulate_sons
from esms_numerique.www.limits import THROTTLED_MESSAGE, SettingsRateThrottle

from .schemas import (
    DossierDetailOut,
    DossierOut,
    ErrorOut,
    EstablishmentOut,
    HealthOut,
    LegalEntityOut,
    SimulationOut,
    SonsOut,
)

# Request bodies are read by the rules core itself (so that an ESSMS named by its FINESS alone can first be
# completed from the registry); their schemas are added to the OpenAPI document here.
REQUEST_MODELS = (SimulationInput, SonsInput)


class EsmsApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in REQUEST_MODELS:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        return schema


def body_of(model) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }


class BoundedParser(Parser):
    """Request bodies read as every JSON input of the platform: finite numbers, bounded depth, no NUL character
    (DECISION D-LIMITS)."""

    def parse_body(self, request: HttpRequest) -> dict:
        return decode_json(request.body)


# Pages beyond this one are refused (400) rather than sent to the database as an offset it cannot hold.
MAX_PAGE = 100_000


class BoundedPageNumberPagination(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=1000)


api = EsmsApi(
    title="ESMS numérique",
    version="1",
    description="Simulateur des règles du programme ESMS numérique et du dispositif SONS.",
    urls_namespace="api",
    parser=BoundedParser(),
)


def input_error(request: HttpRequest, messages: list[str]):
    return api.create_response(request, {"detail": "Entrée invalide", "errors": messages}, status=400)


@api.exception_handler(InputError)
def french_input_error(request: HttpRequest, exc: InputError):
    return input_error(request, exc.messages)


@api.exception_handler(ValidationError)
def french_validation_error(request: HttpRequest, exc: ValidationError):
    # Locations start with where the value came from (query, path, and the body's parameter): users know only the
    # field.
    errors = [{**e, "loc": e["loc"][1:] if e["loc"][:2] == ("body", "payload") else e["loc"]} for e in exc.errors]
    return input_error(request, french_messages(errors, skip=1))


@api.exception_handler(HttpError)
def french_http_error(request: HttpRequest, exc: HttpError):
    cause = exc.__cause__
    if isinstance(cause, InputError):
        return input_error(request, cause.messages)
    if isinstance(cause, json.JSONDecodeError):
        return input_error(request, [f"JSON illisible, ligne {cause.lineno}, colonne {cause.colno} : {cause.msg}"])
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(Throttled)
def french_throttled(request: HttpRequest, exc: Throttled):
    """django-ninja adds the Retry-After header (DECISION D-LIMITS)."""
    seconds = max(1, math.ceil(exc.wait)) if exc.wait else 60
    message = THROTTLED_MESSAGE.format(seconds=seconds)
    return api.create_response(request, {"detail": "Trop de requêtes", "errors": [message]}, status=429)


@api.get("/health", response=HealthOut, tags=["service"], summary="État du service")
def health(request: HttpRequest):
    connection.ensure_connection()
    return {"status": "ok", "database": "ok"}


@api.post(
    "/simulation",
    response={200: SimulationOut, 400: ErrorOut, 413: ErrorOut, 429: ErrorOut},
    tags=["simulateur"],
    throttle=SettingsRateThrottle("api_simulation"),
    summary="Simule un projet ESMS numérique : guichet, constats, montants",
    description="Un ESSMS peut n'être donné que par son FINESS ET (avec `operation` au niveau du projet) : "
    "le répertoire FINESS complète département, secteur, catégorie, OG et nombre d'ESSMS de l'OG.",
    openapi_extra=body_of(SimulationInput),
)
def simulation(request: HttpRequest):
    data = decode_json(request.body)
    refuse_oversized_grappe(data)  # before the registry completes each ESSMS
    return simulate_with_registry(data).as_dict()


@api.post(
    "/sons/simulation",
    response={200: SonsOut, 400: ErrorOut, 413: ErrorOut, 429: ErrorOut},
    tags=["simulateur"],
    throttle=SettingsRateThrottle("api_simulation"),
    summary="Simule une commande SONS (Prestation Ségur) : tranche, montant, avance, solde",
    openapi_extra=body_of(SonsInput),
)
def sons_simulation(request: HttpRequest):
    return simulate_sons(parse(SonsInput, request.body), today=clock.today()).as_dict()


class RegistryFilters(Schema):
    q: str = Field("", max_length=200)
    department: str = Field("", max_length=3)
    region: str = Field("", max_length=3)
    og: str = Field("", max_length=200)
    category: str = Field("", max_length=10)
    sector: str = Field("", max_length=10)
    include_closed: bool = False


@api.get(
    "/finess",
    response=list[EstablishmentOut],
    auth=django_auth,
    tags=["répertoire"],
    summary="Établissements du répertoire, filtrés et paginés",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def finess_list(request: HttpRequest, filters: Query[RegistryFilters]):
    return search_establishments(**filters.dict())


@api.get(
    "/finess/{finess}",
    response={200: EstablishmentOut | LegalEntityOut, 404: ErrorOut},
    auth=django_auth,
    tags=["répertoire"],
    summary="Un établissement (FINESS ET) ou une entité juridique (FINESS EJ)",
)
def finess_detail(request: HttpRequest, finess: str):
    number = finess.strip().upper()
    establishment = Establishment.objects.select_related("legal_entity").filter(finess_et=number).first()
    if establishment:
        return establishment
    entity = LegalEntity.objects.filter(finess_ej=number).first()
    if entity is None:
        return Status(404, {"detail": f"FINESS {number} inconnu du répertoire", "errors": []})
    return entity


def dossier_not_found() -> Status:
    """A dossier the user may not see does not exist for them."""
    return Status(404, {"detail": "Dossier introuvable", "errors": []})


@api.get(
    "/dossiers",
    response=list[DossierOut],
    auth=django_auth,
    tags=["dossiers"],
    summary="Les dossiers que l'utilisateur peut voir",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def dossier_list(request: HttpRequest, state: str = ""):
    dossiers = visible_dossiers(request.user).order_by("reference")
    return dossiers.filter(state=state) if state else dossiers


@api.get(
    "/dossiers/{reference}",
    response={200: DossierDetailOut, 404: ErrorOut},
    auth=django_auth,
    tags=["dossiers"],
    summary="Un dossier, s'il est visible par l'utilisateur, avec ses ESSMS (registre des ESSMS financés)",
)
def dossier_detail(request: HttpRequest, reference: str):
    found = visible_dossiers(request.user).filter(reference=reference).prefetch_related("ledger_rows").first()
    return found or dossier_not_found()


class TransitionIn(Schema):
    """The inputs a transition declares (dossiers/workflow.py); those it does not declare are ignored."""

    transition: str
    version: int = Field(ge=0, le=2_147_483_647)
    comment: str = ""
    date: dt.date | None = None
    expenses_statement: bool = False


@api.post(
    "/dossiers/{reference}/transitions",
    response={200: DossierOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    auth=django_auth,
    tags=["dossiers"],
    summary="Fait avancer un dossier (mêmes règles que l'interface)",
)
def dossier_transition(request: HttpRequest, reference: str, payload: TransitionIn):
    dossier = visible_dossiers(request.user).filter(reference=reference).first()
    if dossier is None:
        return dossier_not_found()
    try:
        return apply_transition(
            request.user,
            dossier,
            payload.transition,
            payload.version,
            payload.comment,
            {"date": payload.date, "expenses_statement": payload.expenses_statement},
        )
    except PermissionDenied as error:
        return Status(403, {"detail": str(error), "errors": []})
    except StaleDossier as error:
        return Status(409, {"detail": str(error), "errors": []})
    except DossierError as error:
        return Status(400, {"detail": str(error), "errors": []})


@api.post(
    "/dossiers/{reference}/measurements",
    response={200: dict, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=django_auth,
    tags=["dossiers"],
    summary="Dépose le résultat de « esms indicateurs calculer » pour les ESSMS du dossier",
)
def dossier_measurements(request: HttpRequest, reference: str):
    dossier = visible_dossiers(request.user).filter(reference=reference).first()
    if dossier is None:
        return dossier_not_found()
    try:
        recorded = record_measurements(request.user, dossier, decode_json(request.body))
    except PermissionDenied as error:
        return Status(403, {"detail": str(error), "errors": []})
    except MeasurementError as error:
        return Status(400, {"detail": "Mesures refusées", "errors": [str(error)]})
    status = final_status(dossier)
    return {
        "recorded": len(recorded.rows),
        "dates": [on.isoformat() for on in recorded.dates],
        "kept": [on.isoformat() for on in recorded.kept],
        "all_targets_met": status["all_met"],
        "measurement_date": status["date"].isoformat() if status["date"] else None,
    }
