"""The JSON API (django-ninja), with its OpenAPI schema at /api/openapi.json."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from esms_numerique.rules.errors import french_messages
from esms_numerique.rules.inputs import SimulationInput, SonsInput
from esms_numerique.rules.simulator import simulate
from esms_numerique.rules.sons import simulate_sons

from .schemas import ErrorOut, HealthOut, SimulationOut, SonsOut

api = NinjaAPI(
    title="ESMS numérique",
    version="1",
    description="Simulateur des règles du programme ESMS numérique et du dispositif SONS.",
    urls_namespace="api",
)


@api.exception_handler(ValidationError)
def french_validation_error(request: HttpRequest, exc: ValidationError):
    # Locations start with ("body", "payload"): the user knows only the JSON fields.
    messages = french_messages(exc.errors, skip=2)
    return api.create_response(request, {"detail": "Entrée invalide", "errors": messages}, status=400)


@api.exception_handler(HttpError)
def french_http_error(request: HttpRequest, exc: HttpError):
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        message = f"JSON illisible, ligne {cause.lineno}, colonne {cause.colno} : {cause.msg}"
        return api.create_response(request, {"detail": "Entrée invalide", "errors": [message]}, status=400)
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.get("/health", response=HealthOut, tags=["service"], summary="État du service")
def health(request: HttpRequest):
    connection.ensure_connection()
    return {"status": "ok", "database": "ok"}


@api.post(
    "/simulation",
    response={200: SimulationOut, 400: ErrorOut},
    tags=["simulateur"],
    summary="Simule un projet ESMS numérique : guichet, constats, montants",
)
def simulation(request: HttpRequest, payload: SimulationInput):
    return simulate(payload).as_dict()


@api.post(
    "/sons/simulation",
    response={200: SonsOut, 400: ErrorOut},
    tags=["simulateur"],
    summary="Simule une commande SONS (Prestation Ségur) : tranche, montant, avance, solde",
)
def sons_simulation(request: HttpRequest, payload: SonsInput):
    return simulate_sons(payload).as_dict()
