"""Dossiers through the API: a porteur creates one, puts its grappe, joins its pieces, files it, answers a
complement, writes in its thread and uploads its measurements; instructors (ARS, CNSA) list and read dossiers
with filters, fire the transitions with their declared inputs, write private annotations and messages. Every
change goes through dossiers/services.py, as from the pages (DECISION D-API-ROUTES)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from esms_numerique.dossiers.access import allowed_transitions, is_porteur_of, sees_annotations, visible_dossiers
from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.services import (
    add_piece,
    apply_transition,
    create_dossier,
    post_message,
    update_grappe,
)
from esms_numerique.indicators.services import MeasurementError, final_status, record_measurements
from esms_numerique.partners.changes import with_changed_at
from esms_numerique.partners.models import Change
from esms_numerique.rules.errors import decode_json

from .auth import AUTH, throttles
from .common import FILE, listed, multipart_body, transitions_out, uploaded
from .errors import ApiRefusal, Code, refusal
from .schemas import (
    DossierDetailOut,
    DossierIn,
    DossierOut,
    DossierPage,
    ErrorOut,
    GrappeIn,
    ListQuery,
    MessageIn,
    MessageOut,
    MessagePage,
    PieceOut,
)

MEASUREMENT_EXAMPLE = {
    "measurement_date": "2024-06-30",
    "window_start": "2024-04-01",
    "window_end": "2024-06-30",
    "essms": {
        "350000022": {
            "people_accompanied": 40,
            "active_dossiers": 38,
            "active_with_pp": 38,
            "active_with_event": 38,
            "mss_messages": 40,
            "dmp_people_fed": 40,
            "active_rate": 0.95,
            "pp_rate": 1.0,
            "agenda_rate": 1.0,
            "mss_rate": 1.0,
            "dmp_rate": 1.0,
        }
    },
}
router = Router(auth=AUTH, throttle=throttles(), tags=["dossiers"])
REFUSALS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class DossierFilters(ListQuery):
    state: str = Field("", max_length=32, description="État (ex. depose, en_instruction)")
    campaign: str = Field("", max_length=8)
    desk: str = Field("", max_length=16, description="Guichet : regional ou national")
    pivot_region: str = Field("", max_length=2, description="Code région de l'ARS pivot")
    porteur_finess_ej: str = Field("", max_length=9)
    page: str = Field("", max_length=40, description="Refusé : la liste se parcourt par `curseur`")


def _dossiers(request: HttpRequest):
    return with_changed_at(visible_dossiers(request.user), Change.Kind.DOSSIER, fallback="created_at")


def _dossier(request: HttpRequest, reference: str) -> Dossier:
    """The dossier, if the caller sees it; a dossier it may not see does not exist for it (404). The services'
    refusals (PermissionDenied, DossierError) are answered by the API's exception handlers (api.py)."""
    dossier = _dossiers(request).filter(reference=reference).first()
    if dossier is None:
        raise ApiRefusal(404, Code.NOT_FOUND, "Dossier introuvable")
    return dossier


def _detail(request: HttpRequest, reference: str):
    dossier = _dossiers(request).filter(reference=reference).prefetch_related("ledger_rows").first()
    if dossier is None:
        raise ApiRefusal(404, Code.NOT_FOUND, "Dossier introuvable")
    dossier.transitions_offered = transitions_out(allowed_transitions(request.user, dossier))
    return dossier


@router.get(
    "",
    response={200: DossierPage, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut},
    summary="Les dossiers que l'appelant voit, filtrés, par dernier changement",
)
def dossier_list(request: HttpRequest, filters: Query[DossierFilters]):
    if filters.page:  # the page numbers of before (issue 14): said clearly rather than ignored
        raise ApiRefusal(
            400,
            Code.INPUT,
            "Entrée invalide",
            ["champ « page » : la liste se parcourt par curseur (`curseur`, `next_cursor`, docs/api.md)"],
        )
    dossiers = _dossiers(request)
    wanted = {
        "state": filters.state,
        "campaign": filters.campaign,
        "desk": filters.desk,
        "pivot_region": filters.pivot_region,
        "porteur__finess_ej": filters.porteur_finess_ej,
    }
    dossiers = dossiers.filter(**{name: value for name, value in wanted.items() if value})
    return listed(dossiers, filters)


@router.post(
    "",
    response={201: DossierDetailOut, **REFUSALS},
    summary="Crée un dossier (brouillon) avec sa grappe — porteur",
)
def dossier_create(request: HttpRequest, payload: DossierIn):
    dossier = create_dossier(request.user, payload.title, payload.campaign, payload.grappe)
    return Status(201, _detail(request, dossier.reference))


@router.get(
    "/{reference}",
    response={200: DossierDetailOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Un dossier, s'il est visible par l'appelant, avec les ESSMS de sa grappe et les actions possibles",
)
def dossier_detail(request: HttpRequest, reference: str):
    return _detail(request, reference)


@router.post(
    "/{reference}/grappe",
    response={200: DossierDetailOut, **REFUSALS, 409: ErrorOut},
    summary="Remplace la grappe d'un dossier modifiable (brouillon, complément demandé) — porteur",
)
def dossier_grappe(request: HttpRequest, reference: str, payload: GrappeIn):
    dossier = _dossier(request, reference)
    update_grappe(request.user, dossier, payload.version, payload.title or dossier.title, payload.grappe)
    return _detail(request, reference)


@router.post(
    "/{reference}/pieces",
    response={201: PieceOut, **REFUSALS},
    summary="Joint une pièce (multipart/form-data : `code` du type de pièce, `file`) — porteur",
    openapi_extra=multipart_body(
        {"code": {"type": "string", "maxLength": 64}, "file": FILE},
        ["code", "file"],
        {"code": "plan_financement", "file": "plan-financement.pdf"},
    ),
)
def dossier_piece(request: HttpRequest, reference: str):
    dossier = _dossier(request, reference)
    if not is_porteur_of(request.user, dossier):
        return refusal(403, "Seul le porteur du dossier joint des pièces.")
    code = request.POST.get("code", "").strip()
    if not code:
        return refusal(400, "Entrée invalide", ["champ « code » : type de pièce attendu"])
    return Status(201, add_piece(request.user, dossier, code, uploaded(request, "file")))


class TransitionIn(Schema):
    """The inputs a transition declares (dossiers/workflow.py); those it does not declare are ignored."""

    transition: str = Field(max_length=64, examples=["deposer"])
    version: int = Field(ge=0, le=2_147_483_647)
    comment: str = Field("", max_length=10_000)
    date: dt.date | None = None
    expenses_statement: bool = False

    model_config = {"json_schema_extra": {"examples": [{"transition": "deposer", "version": 3}]}}


@router.post(
    "/{reference}/transitions",
    response={200: DossierOut, **REFUSALS, 409: ErrorOut},
    summary="Fait avancer un dossier (mêmes règles que l'interface) : deposer, completer, declarer_recevable…",
)
def dossier_transition(request: HttpRequest, reference: str, payload: TransitionIn):
    return apply_transition(
        request.user,
        _dossier(request, reference),
        payload.transition,
        payload.version,
        payload.comment,
        {"date": payload.date, "expenses_statement": payload.expenses_statement},
    )


@router.get(
    "/{reference}/messages",
    response={200: MessagePage, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Le fil du dossier, du plus ancien au plus récent ; les annotations privées pour les instructeurs",
)
def dossier_messages(request: HttpRequest, reference: str, query: Query[ListQuery]):
    dossier = _dossier(request, reference)
    messages = dossier.messages.select_related("author").annotate(changed_at=F("at"))
    if not sees_annotations(request.user, dossier):
        messages = messages.filter(private=False)
    return listed(messages, query)


@router.post(
    "/{reference}/messages",
    response={201: MessageOut, **REFUSALS},
    summary="Écrit dans le fil, ou une annotation privée (`private`, instructeurs)",
)
def dossier_message(request: HttpRequest, reference: str, payload: MessageIn):
    dossier = _dossier(request, reference)
    return Status(201, post_message(request.user, dossier, payload.body, private=payload.private))


@router.post(
    "/{reference}/measurements",
    response={200: dict, **REFUSALS},
    summary="Dépose le résultat de « esms indicateurs calculer » pour les ESSMS du dossier — porteur",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": MEASUREMENT_EXAMPLE}},
        }
    },
)
def dossier_measurements(request: HttpRequest, reference: str):
    dossier = _dossier(request, reference)
    try:
        recorded = record_measurements(request.user, dossier, decode_json(request.body))
    except MeasurementError as error:
        return refusal(400, "Mesures refusées", [str(error)])
    status = final_status(dossier)
    return {
        "recorded": len(recorded.rows),
        "dates": [on.isoformat() for on in recorded.dates],
        "kept": [on.isoformat() for on in recorded.kept],
        "all_targets_met": status["all_met"],
        "measurement_date": status["date"].isoformat() if status["date"] else None,
    }
