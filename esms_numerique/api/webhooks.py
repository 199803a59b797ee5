"""A partner's webhooks through the API (DECISION D-WEBHOOKS): register an address and its secret, list them,
deactivate one, and read its deliveries and their failures. Each user sees only its own webhooks."""

from __future__ import annotations

from django.db.models import F
from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status

from esms_numerique.partners.models import Webhook
from esms_numerique.partners.webhooks import WebhookError, deactivate, register

from .auth import AUTH, throttles
from .common import listed
from .errors import not_found, refusal
from .schemas import DeliveryPage, ErrorOut, ListQuery, WebhookIn, WebhookOut, WebhookPage

router = Router(auth=AUTH, throttle=throttles(), tags=["webhooks"])


class WebhookPath(Schema):
    pk: int = Field(ge=1, le=2_147_483_647)


class DeliveryQuery(ListQuery):
    state: str = Field("", max_length=16, description="en_attente, en_cours, livree, echec ou abandonnee")


@router.get("", response={200: WebhookPage, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut}, summary="Mes webhooks")
def webhook_list(request: HttpRequest, query: Query[ListQuery]):
    return listed(Webhook.objects.filter(user=request.user).annotate(changed_at=F("updated_at")), query)


@router.post(
    "",
    response={201: WebhookOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    summary="Enregistre un webhook : chaque événement visible est envoyé signé (X-ESMS-Signature)",
    description="Adresse https en production ; le secret (16 caractères au moins) signe chaque envoi : "
    "`X-ESMS-Signature: sha256=<HMAC-SHA256 du corps>`.",
)
def webhook_create(request: HttpRequest, payload: WebhookIn):
    if request.access.role is None and not request.access.is_admin:
        return refusal(403, "Un compte sans rôle ne reçoit aucun événement.")
    try:
        return Status(201, register(request.user, payload.url, payload.secret))
    except WebhookError as error:
        return refusal(400, "Entrée invalide", [str(error)])


def _own(request: HttpRequest, pk: int) -> Webhook | None:
    return Webhook.objects.filter(user=request.user, pk=pk).first()


@router.post(
    "/{pk}/desactiver",
    response={200: WebhookOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Désactive un webhook : plus aucun envoi",
)
def webhook_deactivate(request: HttpRequest, path: Path[WebhookPath]):
    webhook = _own(request, path.pk)
    return deactivate(request.user, webhook) if webhook else not_found("Webhook")


@router.get(
    "/{pk}/livraisons",
    response={200: DeliveryPage, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Les livraisons d'un webhook et leurs échecs, par dernier changement",
)
def webhook_deliveries(request: HttpRequest, path: Path[WebhookPath], query: Query[DeliveryQuery]):
    webhook = _own(request, path.pk)
    if webhook is None:
        return not_found("Webhook")
    deliveries = webhook.deliveries.annotate(changed_at=F("updated_at"))
    if query.state:
        deliveries = deliveries.filter(state=query.state)
    return listed(deliveries, query)
