"""What the API's routers share: the lists' time stamps, the transitions offered, reading an uploaded file."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from esms_numerique.partners.changes import BadCursor, page

from .errors import ApiRefusal, Code
from .schemas import ListQuery


def listed(queryset, query: ListQuery) -> dict:
    """One page of a list annotated with `changed_at` (partners/changes.py)."""
    since = query.modifie_depuis
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)  # Europe/Paris, the campaign's time zone
    try:
        items, cursor = page(queryset, since, query.curseur, query.taille)
    except BadCursor as error:
        raise ApiRefusal(400, Code.INPUT, "Entrée invalide", [f"champ « curseur » : {error}"]) from None
    return {"items": items, "next_cursor": cursor}


def transitions_out(transitions) -> list[dict]:
    return [
        {
            "name": t.name,
            "label": t.label,
            "inputs": [{"name": i.name, "label": i.label, "kind": i.kind, "required": i.required} for i in t.inputs],
        }
        for t in transitions
    ]


def uploaded(request: HttpRequest, field: str):
    """The file sent as `field` of a multipart body, or a French 400."""
    upload = request.FILES.get(field)
    if upload is None:
        raise ApiRefusal(
            400,
            Code.INPUT,
            "Entrée invalide",
            [f"champ « {field} » : fichier attendu (corps multipart/form-data)"],
        )
    return upload


def multipart_body(fields: dict[str, dict], required: list[str], example: dict) -> dict:
    """The OpenAPI request body of an upload (read by the view itself, after the access check)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": fields, "required": required},
                    "example": example,
                }
            },
        }
    }


FILE = {"type": "string", "format": "binary", "description": "Fichier PDF"}
