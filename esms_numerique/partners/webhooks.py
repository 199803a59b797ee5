"""Webhooks (DECISION D-WEBHOOKS, docs/decisions.md): a partner registers an address and a shared secret; each event
it may see (a state change of a dossier, an order or a payment request; a new order; a message) is written as a
delivery row, then POSTed by the background work layer (django-tasks) as JSON signed with
`X-ESMS-Signature: sha256=<HMAC-SHA256 of the body with the secret>`, with its `X-ESMS-Delivery` id. A failure is
retried with exponential back-off; the deliveries and their failures are listed to the partner. Addresses: https
only in production, loopback only in tests (setting `ESMS_WEBHOOK_URLS`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from esms_numerique.audit.services import record

from .models import Delivery, Webhook

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_DELAY = dt.timedelta(seconds=30)
LONGEST_DELAY = dt.timedelta(hours=6)
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class WebhookError(ValueError):
    """A refusal in French."""


def url_refusal(url: str) -> str | None:
    """Why an address may not receive webhooks under the setting `ESMS_WEBHOOK_URLS` (« https »: an https address
    on a public host; « loopback »: this machine only, for tests), or None."""
    policy = getattr(settings, "ESMS_WEBHOOK_URLS", "https")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return "adresse illisible"
    if parts.scheme not in ("http", "https") or not host:
        return "adresse http(s) attendue"
    if policy == "loopback":
        return None if host in LOOPBACK_HOSTS else "seules les adresses locales (127.0.0.1) sont acceptées ici"
    if parts.scheme != "https":
        return "adresse https attendue"
    if host in LOOPBACK_HOSTS or host.endswith(".localhost"):
        return "adresse locale refusée"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "adresse IP privée ou réservée refusée"
    return None


def resolution_refusal(url: str) -> str | None:
    """In production, the address's host must resolve to public addresses only, at each delivery (a name that
    later points to the platform's own network is refused then)."""
    if getattr(settings, "ESMS_WEBHOOK_URLS", "https") == "loopback":
        return None
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "nom d'hôte introuvable"
    if not found or any(not ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in found):
        return "l'hôte désigne une adresse privée ou réservée"
    return None


def register(user, url: str, secret: str) -> Webhook:
    url, secret = (url or "").strip(), (secret or "").strip()
    problem = url_refusal(url)
    if problem:
        raise WebhookError(f"champ « url » : {problem}")
    if not 16 <= len(secret) <= 200:
        raise WebhookError("champ « secret » : entre 16 et 200 caractères")
    with transaction.atomic():
        webhook = Webhook.objects.create(user=user, url=url, secret=secret)
        record(user.get_username(), "register_webhook", "Webhook", str(webhook.pk), after={"url": url})
    return webhook


def deactivate(user, webhook: Webhook) -> Webhook:
    with transaction.atomic():
        Webhook.objects.filter(pk=webhook.pk).update(active=False, updated_at=timezone.now())
        record(user.get_username(), "deactivate_webhook", "Webhook", str(webhook.pk), after={"url": webhook.url})
    webhook.refresh_from_db()
    return webhook


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Events: who may see them, the rows written.


def _sees(user, kind: str, subject, private: bool = False) -> bool:
    from esms_numerique.dossiers.access import can_see, sees_annotations
    from esms_numerique.sons.access import visible_orders

    if kind == "commande":
        return visible_orders(user).filter(pk=subject.pk).exists()
    if private:
        return sees_annotations(user, subject)
    return can_see(user, subject)


def dispatch(kind: str, subject, event: str, data: dict[str, Any], private: bool = False) -> list[Delivery]:
    """One delivery per active webhook whose owner sees the subject (a dossier or an order), then their tasks."""
    payload = {
        "evenement": event,
        "objet": kind,
        "reference": subject.reference,
        "date": timezone.now().isoformat(),
        "donnees": data,
    }
    rows = []
    for webhook in Webhook.objects.filter(active=True).select_related("user"):
        if webhook.user.is_active and _sees(webhook.user, kind, subject, private):
            rows.append(
                Delivery(
                    webhook=webhook,
                    event=event,
                    reference=subject.reference,
                    payload=payload,
                    next_attempt_at=timezone.now(),
                )
            )
    rows = Delivery.objects.bulk_create(rows)
    for row in rows:
        enqueue(row)
    return rows


def enqueue(delivery: Delivery, at: dt.datetime | None = None) -> None:
    from django_tasks import default_task_backend

    from .tasks import deliver_webhook

    if at is not None and not default_task_backend.supports_defer:
        return  # `esms api webhooks relancer` (or the scheduled task) takes it when it is due
    task = deliver_webhook.using(run_after=at) if at is not None else deliver_webhook
    transaction.on_commit(lambda: task.enqueue(delivery.pk))


def _safely(what: str, function, *args) -> None:
    """A listener never raises into the change that called it."""
    try:
        function(*args)
    except Exception:
        logger.exception("Webhooks de « %s » non écrits", what)


def on_transition(subject, transition, user) -> None:
    from esms_numerique.sons.models import Order

    if isinstance(subject, Order):
        kind, target, event = "commande", subject, "commande.etat"
    elif hasattr(subject, "dossier"):  # a payment request
        kind, target, event = "dossier", subject.dossier, "paiement.etat"
    else:
        kind, target, event = "dossier", subject, "dossier.etat"
    data = {"transition": transition.name, "libelle": transition.label, "etat": subject.state}
    if event == "paiement.etat":
        data["demande_de_paiement"] = subject.pk
    _safely(transition.name, dispatch, kind, target, event, data)


def on_order_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        transaction.on_commit(
            lambda: _safely("commande", dispatch, "commande", instance, "commande.creee", {"etat": instance.state})
        )


def on_message_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    event = "dossier.annotation" if instance.private else "dossier.message"
    data = {"message": instance.pk, "auteur": instance.author.get_username(), "texte": instance.body}
    transaction.on_commit(lambda: _safely(event, dispatch, "dossier", instance.dossier, event, data, instance.private))


# ---------------------------------------------------------------------------------------------------------------
# Delivery.


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer (3xx), not followed elsewhere


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    timeout = getattr(settings, "ESMS_WEBHOOK_TIMEOUT", 10)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min… at most 6 h between two attempts."""
    return min(FIRST_DELAY * (2 ** max(attempts - 1, 0)), LONGEST_DELAY)


def deliver(delivery_id: int) -> str:
    """One attempt, its outcome written on the row (locked: two workers never send the same attempt)."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("webhook").filter(pk=delivery_id).first()
        if delivery is None or delivery.state in (Delivery.State.DELIVERED, Delivery.State.ABANDONED):
            return "rien à faire"
        webhook = delivery.webhook
        body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "esms-numerique-webhooks/1",
            "X-ESMS-Event": delivery.event,
            "X-ESMS-Delivery": str(delivery.delivery_id),
            "X-ESMS-Signature": signature(webhook.secret, body),
        }
        delivery.attempts += 1
        status, error = None, ""
        problem = "webhook désactivé"
        if webhook.active:
            problem = url_refusal(webhook.url) or resolution_refusal(webhook.url)
        if problem:
            error = problem
        else:
            try:
                status = _post(webhook.url, body, headers)
            except (OSError, ValueError) as failure:
                error = f"{type(failure).__name__} : {failure}"[:500]
        delivery.last_status = status
        if status is not None and 200 <= status < 300:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                Delivery.State.DELIVERED,
                timezone.now(),
                None,
            )
            delivery.last_error = ""
        else:
            delivery.last_error = error or f"réponse HTTP {status}"
            if delivery.attempts >= MAX_ATTEMPTS or not webhook.active:
                delivery.state, delivery.next_attempt_at = Delivery.State.ABANDONED, None
            else:
                delivery.state = Delivery.State.FAILED
                delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
        delivery.save()
        if delivery.state == Delivery.State.FAILED:
            enqueue(delivery, at=delivery.next_attempt_at)
    return delivery.state


def retry_due(now: dt.datetime | None = None) -> int:
    """Attempts every failed delivery whose next attempt is due (a backend that cannot defer a task)."""
    due = Delivery.objects.filter(
        state__in=(Delivery.State.FAILED, Delivery.State.PENDING), next_attempt_at__lte=now or timezone.now()
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        deliver(pk)
        count += 1
    return count
