"""The JSON API (django-ninja), with its OpenAPI schema at /api/openapi.json."""

import json
import math

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.pagination import PageNumberPagination, paginate
from ninja.parser import Parser
from ninja.responses import Status

from esms_numerique import clock
from esms_numerique.partners.tokens import resolve
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.registry.queries import search_establishments
from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError, decode_json, french_messages, parse
from esms_numerique.rules.inputs import SimulationInput, SonsInput, refuse_oversized_grappe
from esms_numerique.rules.parameters import default_tree
from esms_numerique.rules.sons import simulate_sons
from esms_numerique.workflow.engine import Refusal, StaleSubject
from esms_numerique.www.limits import THROTTLED_MESSAGE, SettingsRateThrottle
from esms_numerique.www.templatetags.esms import nombre

from . import dossiers, orders, webhooks
from .auth import AUTH
from .errors import ApiRefusal, Code, error_body
from .schemas import (
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


def body_of(model, example: dict) -> dict:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}}


SIMULATION_EXAMPLE = {
    "campaign": "2024",
    "filed_on": "2024-03-10",
    "porteur": {"finess_ej": "350000014", "vat_regime": "TTC"},
    "solution": {"segur_referenced": True},
    "operation": "acquisition",
    "essms": [{"finess_et": "350000022"}, {"finess_et": "350000030"}],
}
SONS_EXAMPLE = {"couloir": "MS1", "og_essms_count": 72, "finess_et": ["350000022"], "ordered_on": "2023-05-01"}


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
    description="Simulateur des règles du programme ESMS numérique et du dispositif SONS ; API des partenaires "
    "(éditeurs, porteurs, ARS, CNSA) : jeton personnel dans `Authorization: Bearer esmsn_…` (page « Accès à l'API » "
    "du site), mêmes droits et mêmes règles que les pages, erreurs en français avec un `code` stable, listes par "
    "`modifie_depuis` et `curseur`, webhooks signés. Mode d'emploi : docs/api.md.",
    urls_namespace="api",
    parser=BoundedParser(),
)


def input_error(request: HttpRequest, messages: list[str]):
    return api.create_response(request, error_body(400, "Entrée invalide", messages), status=400)


@api.exception_handler(InputError)
def french_input_error(request: HttpRequest, exc: InputError):
    return input_error(request, exc.messages)


@api.exception_handler(ValidationError)
def french_validation_error(request: HttpRequest, exc: ValidationError):
    # Locations start with where the value came from (query, path, and the body's parameter): users know only the
    # field.
    errors = [{**e, "loc": e["loc"][1:] if e["loc"][:2] == ("body", "payload") else e["loc"]} for e in exc.errors]
    return input_error(request, french_messages(errors, skip=1))


@api.exception_handler(ApiRefusal)
def api_refusal(request: HttpRequest, exc: ApiRefusal):
    body = error_body(exc.status, exc.detail, exc.errors, exc.code)
    response = api.create_response(request, body, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(PermissionDenied)
def refused_to_the_caller(request: HttpRequest, exc: PermissionDenied):
    """A service's refusal to this caller (its message says why, in French): 403, from every route alike."""
    return api.create_response(request, error_body(403, str(exc) or "Accès refusé"), status=403)


@api.exception_handler(Refusal)
def refused_by_the_rules(request: HttpRequest, exc: Refusal):
    """A change the rules refuse (dossiers, payments, SONS orders: the workflow engine's refusals): 400 citing the
    rule; 409 when someone else changed the subject since the caller read its version."""
    if isinstance(exc, StaleSubject):
        return api.create_response(request, error_body(409, str(exc), code=Code.STALE), status=409)
    return api.create_response(request, error_body(400, str(exc), [str(exc)], Code.RULE), status=400)


@api.exception_handler(AuthenticationError)
def french_unauthenticated(request: HttpRequest, exc: AuthenticationError):
    detail = "Authentification requise : jeton d'API (Authorization: Bearer …) ou session ouverte."
    response = api.create_response(request, error_body(401, detail, code=Code.UNAUTHENTICATED), status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def french_http_error(request: HttpRequest, exc: HttpError):
    cause = exc.__cause__
    if isinstance(cause, InputError):
        return input_error(request, cause.messages)
    if isinstance(cause, json.JSONDecodeError):
        return input_error(request, [f"JSON illisible, ligne {cause.lineno}, colonne {cause.colno} : {cause.msg}"])
    detail = str(exc.message)
    if exc.status_code == 403 and "CSRF" in detail:
        detail = "Jeton CSRF absent ou invalide : une session du navigateur écrit avec son jeton CSRF."
    return api.create_response(request, error_body(exc.status_code, detail), status=exc.status_code)


@api.exception_handler(Throttled)
def french_throttled(request: HttpRequest, exc: Throttled):
    """django-ninja adds the Retry-After header when it knows the wait (DECISION D-LIMITS)."""
    seconds = max(1, math.ceil(exc.wait)) if exc.wait else 60
    if request.path.endswith("/simulation"):
        message = THROTTLED_MESSAGE.format(seconds=seconds)
    else:
        message = f"Trop de requêtes pour ce jeton ou cette adresse : réessayez dans {seconds} secondes."
    response = api.create_response(request, error_body(429, "Trop de requêtes", [message]), status=429)
    response["Retry-After"] = str(seconds)
    return response


def _known_caller(request: HttpRequest) -> bool:
    """A signed-in session or an active API token (the simulators need neither)."""
    if request.user.is_authenticated:
        return True
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and resolve(secret.strip()) is not None


def refuse_anonymous_oversize(request: HttpRequest, essms_count: int, field: str = "essms") -> None:
    """Without a token or a session, a simulation holds at most the anonymous simulator page's ESSMS and
    characters (its JSON body; dated parameters, DECISION D-ANONYMOUS-BOUNDS); a known caller keeps the platform's
    cap (D-LIMITS)."""
    if _known_caller(request):
        return
    tree, today = default_tree(), clock.today()
    max_essms = tree.get("limits.anonymous_simulation_max_essms").in_force(today).value
    max_chars = tree.get("limits.anonymous_simulation_max_chars").in_force(today).value
    invitation = "Envoyez un jeton d'API (Authorization: Bearer …, page « Accès à l'API » du site) pour davantage."
    chars = len(request.body.decode("utf-8", errors="replace"))
    if chars > max_chars:
        raise ApiRefusal(
            413,
            Code.ANONYMOUS_LIMIT,
            "Requête trop volumineuse sans compte",
            [
                f"Le corps fait {nombre(chars)} caractères : sans compte, la simulation en accepte "
                f"{nombre(max_chars)} au plus. {invitation}"
            ],
        )
    if essms_count > max_essms:
        raise ApiRefusal(
            400,
            Code.ANONYMOUS_LIMIT,
            "Entrée invalide",
            [
                f"champ « {field} » : {nombre(essms_count)} ESSMS ; sans compte, la simulation en accepte "
                f"{nombre(max_essms)} au plus. {invitation}"
            ],
        )


def _count(data: object, *fields: str) -> int:
    values = [data.get(f) for f in fields] if isinstance(data, dict) else []
    return max((len(v) for v in values if isinstance(v, list)), default=0)


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
    openapi_extra=body_of(SimulationInput, SIMULATION_EXAMPLE),
)
def simulation(request: HttpRequest):
    data = decode_json(request.body)
    refuse_oversized_grappe(data)  # before the registry completes each ESSMS
    refuse_anonymous_oversize(request, _count(data, "essms"))
    return simulate_with_registry(data).as_dict()


@api.post(
    "/sons/simulation",
    response={200: SonsOut, 400: ErrorOut, 413: ErrorOut, 429: ErrorOut},
    tags=["simulateur"],
    throttle=SettingsRateThrottle("api_simulation"),
    summary="Simule une commande SONS (Prestation Ségur) : tranche, montant, avance, solde",
    openapi_extra=body_of(SonsInput, SONS_EXAMPLE),
)
def sons_simulation(request: HttpRequest):
    payload = parse(SonsInput, request.body)  # the platform's cap first (D-LIMITS)
    counts = {"finess_et": len(payload.finess_et), "essms": len(payload.essms or [])}
    field = max(counts, key=counts.get)
    refuse_anonymous_oversize(request, counts[field], field)
    return simulate_sons(payload, today=clock.today()).as_dict()


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
    auth=AUTH,
    tags=["répertoire"],
    summary="Établissements du répertoire, filtrés et paginés",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def finess_list(request: HttpRequest, filters: Query[RegistryFilters]):
    return search_establishments(**filters.dict())


@api.get(
    "/finess/{finess}",
    response={200: EstablishmentOut | LegalEntityOut, 404: ErrorOut},
    auth=AUTH,
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
        return Status(404, error_body(404, f"FINESS {number} inconnu du répertoire"))
    return entity


api.add_router("/dossiers", dossiers.router)
api.add_router("/sons", orders.router)
api.add_router("/webhooks", webhooks.router)
