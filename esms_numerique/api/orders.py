"""SONS orders through the API (issue 14): an éditeur records the orders its clients signed and takes them through
their lifecycle with the same services as the pages (sons/services.py: S-ELIG per couloir, S-ONCE, S-CALENDAR,
E-NO-DOUBLE through the ledger, the 120-day clock of S-PENDING; the workflow engine's `fire`; DECISION D-API-ROUTES)."""

from __future__ import annotations

from django.db import transaction
from django.http import FileResponse, HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from esms_numerique.audit.services import record
from esms_numerique.dossiers.pieces import PieceError, checked_upload
from esms_numerique.partners.changes import with_changed_at
from esms_numerique.partners.models import Change, SignedOrderForm
from esms_numerique.registry.models import LegalEntity
from esms_numerique.rules.finess import normalize
from esms_numerique.sons.access import actor_of, visible_orders
from esms_numerique.sons.models import Order, Solution
from esms_numerique.sons.services import ItemRequest, apply_order_transition, sign_order
from esms_numerique.sons.workflow import WORKFLOW, OrderState

from .auth import AUTH, throttles
from .common import FILE, listed, multipart_body, transitions_out, uploaded
from .errors import ApiRefusal, Code, refusal
from .schemas import (
    ErrorOut,
    ListQuery,
    OrderDetailOut,
    OrderIn,
    OrderPage,
    OrderTransitionIn,
    SignedFormOut,
    SolutionOut,
)

router = Router(auth=AUTH, throttle=throttles(), tags=["commandes SONS"])
REFUSALS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def _orders(request: HttpRequest):
    return with_changed_at(visible_orders(request.user).select_related("signed_form"), Change.Kind.ORDER)


def _order(request: HttpRequest, reference: str):
    """The order, if the caller sees it (else 404). The services' refusals are answered by the API's exception
    handlers (api.py: PermissionDenied 403, OrderError 400, StaleOrder 409)."""
    order = _orders(request).filter(reference=reference).first()
    if order is None:
        raise ApiRefusal(404, Code.NOT_FOUND, "Commande introuvable")
    return order


def _detail(request: HttpRequest, order):
    actor = actor_of(request.user, order)
    order.essms = list(order.items.select_related("establishment"))
    order.findings = order.result.get("findings", [])
    order.transitions_offered = transitions_out([t for t in WORKFLOW.from_state(order.state) if actor in t.roles])
    return order


@router.get(
    "/solutions",
    response={200: list[SolutionOut], 401: ErrorOut, 429: ErrorOut},
    summary="Les solutions de l'éditeur (leur numéro sert à commander)",
)
def solutions(request: HttpRequest):
    editor = request.access.editor
    return list(Solution.objects.filter(editor_id=editor)) if editor is not None else []


@router.get(
    "/commandes",
    response={200: OrderPage, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut},
    summary="Les commandes que l'appelant voit (un éditeur : les siennes), par dernier changement",
)
def order_list(request: HttpRequest, query: Query[ListQuery], state: str = ""):
    orders = _orders(request)
    return listed(orders.filter(state=state) if state else orders, query)


@router.post(
    "/commandes",
    response={201: OrderDetailOut, **REFUSALS},
    summary="Enregistre une commande signée (mêmes règles que la page : S-ELIG, S-ONCE, S-CALENDAR, E-NO-DOUBLE)",
    description="Refusée (400, code `refus_regle`) avec chaque constat bloquant et son identifiant de règle. "
    "Le bon de commande signé (PDF) se dépose ensuite : POST /api/sons/commandes/{reference}/bon-signe.",
)
def order_create(request: HttpRequest, payload: OrderIn):
    if not request.access.may_order:
        return refusal(403, "Seul un éditeur enregistre une commande.")
    solution = Solution.objects.filter(editor_id=request.access.editor, pk=payload.solution).first()
    if solution is None:
        return refusal(400, "Entrée invalide", [f"champ « solution » : solution n° {payload.solution} inconnue"])
    if solution.couloir != payload.couloir:
        return refusal(
            400,
            "Entrée invalide",
            [f"champ « couloir » : la solution {solution.name} relève du couloir {solution.couloir} (S-ELIG)"],
        )
    numbers = [normalize(payload.og_finess_ej), *(normalize(n) for n in payload.other_og_finess_ej)]
    entities = {e.finess_ej: e for e in LegalEntity.objects.filter(finess_ej__in=numbers)}
    unknown = [n for n in numbers if n not in entities]
    if unknown:
        return refusal(
            400, "Entrée invalide", [f"champ « og_finess_ej » : FINESS EJ {n} inconnu du répertoire" for n in unknown]
        )
    items = [ItemRequest(normalize(i.finess_et), i.current_version, i.target_version) for i in payload.essms]
    order = sign_order(
        request.user,
        entities[numbers[0]],
        solution,
        payload.sector,
        payload.signed_on,
        items,
        other_ogs=tuple(entities[n] for n in dict.fromkeys(numbers[1:]) if n != numbers[0]),
    )
    return Status(201, _detail(request, _order(request, order.reference)))


@router.get(
    "/commandes/{reference}",
    response={200: OrderDetailOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Une commande, si l'appelant la voit, avec ses ESSMS, ses constats et les actions possibles",
)
def order_detail(request: HttpRequest, reference: str):
    return _detail(request, _order(request, reference))


@router.post(
    "/commandes/{reference}/transitions",
    response={200: OrderDetailOut, **REFUSALS, 409: ErrorOut},
    summary="Fait avancer une commande : demander_avance, demander_solde, annuler (motif), versements (CNSA)…",
    description="Les entrées que déclare la transition (sons/workflow.py) : `comment` (motif de l'annulation), "
    "`date` et `payment_reference` (versements). `version` est celle lue : 409 si la commande a changé.",
)
def order_transition(request: HttpRequest, reference: str, payload: OrderTransitionIn):
    apply_order_transition(
        request.user,
        _order(request, reference),
        payload.transition,
        payload.version,
        payload.comment,
        {"date": payload.date, "payment_reference": payload.payment_reference},
    )
    return _detail(request, _order(request, reference))


# The signed form may be replaced while the payer has not paid the advance on it; afterwards it is evidence.
REPLACEABLE = (OrderState.SIGNEE, OrderState.AVANCE_DEMANDEE)


@router.post(
    "/commandes/{reference}/bon-signe",
    response={201: SignedFormOut, **REFUSALS, 409: ErrorOut},
    summary="Dépose le bon de commande signé (PDF, multipart/form-data, champ `file`)",
    description="Un bon déjà déposé se remplace tant que l'avance n'est pas versée (commande signée ou avance "
    "demandée) ; ensuite, refus 409 (code `bon_signe_fige`).",
    openapi_extra=multipart_body({"file": FILE}, ["file"], {"file": "bon-de-commande-signe.pdf"}),
)
def order_signed_form(request: HttpRequest, reference: str):
    order = _order(request, reference)
    if actor_of(request.user, order) != "editeur":
        return refusal(403, "Seul l'éditeur de la commande dépose son bon de commande signé.")
    upload = uploaded(request, "file")
    try:
        sha = checked_upload(upload)
    except PieceError as error:
        return refusal(400, "Entrée invalide", [f"champ « file » : {error}"])
    if not upload.name.lower().endswith(".pdf"):
        return refusal(400, "Entrée invalide", ["champ « file » : le bon de commande signé est un PDF"])
    with transaction.atomic():
        # the order locked: a transition (the advance paid) and two uploads wait for each other
        order = Order.objects.select_for_update().get(pk=order.pk)
        previous = SignedOrderForm.objects.filter(order=order).first()
        if previous is not None and order.state not in REPLACEABLE:
            return refusal(
                409,
                f"Le bon de commande signé de la commande {order.reference} ne se remplace plus : l'avance est "
                f"versée (état « {order.get_state_display()} »).",
                code=Code.FORM_LOCKED,
            )
        if previous is not None:
            previous.delete()
        form = SignedOrderForm.objects.create(
            order=order, file=upload, original_name=upload.name[:255], sha256=sha, uploaded_by=request.user
        )
        record(
            request.user.get_username(),
            "upload_signed_order_form",
            "Order",
            order.reference,
            before={"fichier": previous.original_name, "sha256": previous.sha256} if previous else None,
            after={"fichier": form.original_name, "sha256": sha},
        )
    return Status(201, form)


@router.get(
    "/commandes/{reference}/bon-signe",
    response={401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Télécharge le bon de commande signé (PDF), pour qui voit la commande",
    openapi_extra={
        "responses": {
            "200": {
                "description": "Le PDF déposé par l'éditeur",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def order_signed_form_download(request: HttpRequest, reference: str):
    order = _order(request, reference)
    form = SignedOrderForm.objects.filter(order=order).first()
    if form is None:
        return refusal(404, f"Aucun bon de commande signé déposé pour la commande {order.reference}")
    return FileResponse(form.file.open("rb"), as_attachment=True, filename=form.original_name)
