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
import http.client
import ipaddress
import json
import logging
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
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


NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not receive a webhook in production, or None: a non-global address, or an IPv6 address
    that carries a non-global IPv4 one (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4
    2002::/16, Teredo), which a translator on the path would turn into the private address."""
    embedded: list[ipaddress.IPv4Address] = []
    if address.version == 6:
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.append(address.teredo[1])
        if any(address in prefix for prefix in NAT64_PREFIXES):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if not address.is_global or any(not inner.is_global for inner in embedded):
        return "adresse refusée : réseau privé ou réservé"
    return None


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
    if address_refusal(address):
        return "adresse IP privée ou réservée refusée"
    return None


_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def resolve(url: str) -> tuple[str | None, str | None]:
    """The address to connect to for this URL, checked at each delivery (a name that later points to the platform's
    own network is refused then), or the French reason why not. The look-up is bounded by
    `ESMS_WEBHOOK_DNS_TIMEOUT` seconds. Every address the name has must be acceptable; the first one is used, and
    the connection goes to it, not to a second look-up (`_post`)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    lookup = _resolver.submit(socket.getaddrinfo, parts.hostname, port, proto=socket.IPPROTO_TCP)
    try:
        found = lookup.result(timeout=getattr(settings, "ESMS_WEBHOOK_DNS_TIMEOUT", 5))
    except FutureTimeout:
        return None, "nom d'hôte : délai dépassé"
    except (OSError, UnicodeError):
        return None, "nom d'hôte introuvable"
    try:
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    except ValueError:
        return None, "nom d'hôte introuvable"
    if not addresses:
        return None, "nom d'hôte introuvable"
    if getattr(settings, "ESMS_WEBHOOK_URLS", "https") == "loopback":
        if any(not a.is_loopback for a in addresses):
            return None, "seules les adresses locales (127.0.0.1) sont acceptées ici"
    elif any(address_refusal(a) for a in addresses):
        return None, "adresse refusée : réseau privé ou réservé"
    return str(addresses[0]), None


def resolution_refusal(url: str) -> str | None:
    return resolve(url)[1]


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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked (`resolve`), not to a second look-up of the name; the Host header
    is the name's."""

    def __init__(self, host: str, port: int, *, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._create_connection = lambda where, *rest: socket.create_connection((address, where[1]), *rest)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the name (SNI `server_hostname` = the host)."""

    def __init__(self, host: str, port: int, *, address: str, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._create_connection = lambda where, *rest: socket.create_connection((address, where[1]), *rest)


def _post(url: str, body: bytes, headers: dict[str, str], address: str) -> int:
    """POSTs to `address` (checked) on behalf of the URL's host; a redirect is an answer (3xx), never followed."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    connection_class = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    timeout = getattr(settings, "ESMS_WEBHOOK_TIMEOUT", 10)
    target = connection_class(parts.hostname, parts.port or (443 if secure else 80), address=address, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        target.request("POST", path, body=body, headers=headers)
        return target.getresponse().status
    finally:
        target.close()


def failure_text(failure: BaseException) -> str:
    """What the partner reads of a failed attempt: coarse, in French, never Python's text (which may tell how the
    platform's network answers)."""
    if isinstance(failure, ssl.SSLError | ssl.CertificateError):
        return "connexion sécurisée refusée (certificat ou TLS)"
    if isinstance(failure, TimeoutError | socket.timeout):
        return "délai dépassé"
    if isinstance(failure, ConnectionRefusedError):
        return "connexion refusée"
    if isinstance(failure, ConnectionResetError | http.client.RemoteDisconnected | http.client.IncompleteRead):
        return "connexion interrompue"
    if isinstance(failure, http.client.HTTPException):
        return "réponse HTTP illisible"
    return "connexion impossible"


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min… at most 6 h between two attempts."""
    return min(FIRST_DELAY * (2 ** max(attempts - 1, 0)), LONGEST_DELAY)


# A claimed attempt that never records its outcome (a worker stopped mid-way) is taken again after this.
CLAIM_LEASE = dt.timedelta(minutes=2)
OPEN_STATES = (Delivery.State.PENDING, Delivery.State.FAILED, Delivery.State.SENDING)


def _claim(delivery_id: int, now: dt.datetime) -> Delivery | None:
    """The attempt, claimed in a short transaction (two workers never send the same attempt), or None: delivered,
    abandoned, not yet due, or being sent by another worker (its lease not over)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))  # the delivery's row only, not its owner's
            .select_related("webhook", "webhook__user")
            .filter(pk=delivery_id, state__in=OPEN_STATES)
            .first()
        )
        if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now):
            return None
        webhook = delivery.webhook
        if not webhook.active or not webhook.user.is_active:
            reason = "webhook désactivé" if not webhook.active else "compte désactivé"
            Delivery.objects.filter(webhook=webhook, state__in=OPEN_STATES).update(
                state=Delivery.State.ABANDONED, next_attempt_at=None, last_error=reason, updated_at=timezone.now()
            )
            return None
        delivery.attempts += 1
        delivery.state = Delivery.State.SENDING
        delivery.next_attempt_at = now + max(backoff(delivery.attempts), CLAIM_LEASE)
        delivery.save(update_fields=["attempts", "state", "next_attempt_at", "updated_at"])
    return delivery


def deliver(delivery_id: int, now: dt.datetime | None = None) -> str:
    """One attempt: claimed in a short transaction, the look-up and the POST outside any (they may take seconds;
    SQLite's transactions would hold every write of the platform meanwhile), the outcome recorded in a second
    short transaction. `now`: the instant the attempt is due by (`retry_due`)."""
    delivery = _claim(delivery_id, now or timezone.now())
    if delivery is None:
        found = Delivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first()
        return found or "rien à faire"
    webhook = delivery.webhook
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "esms-numerique-webhooks/1",
        "X-ESMS-Event": delivery.event,
        "X-ESMS-Delivery": str(delivery.delivery_id),
        "X-ESMS-Signature": signature(webhook.secret, body),
    }
    status, error = None, url_refusal(webhook.url)
    address = None
    if not error:
        address, error = resolve(webhook.url)
    if not error:
        try:
            status = _post(webhook.url, body, headers, address)
        except (OSError, ValueError, http.client.HTTPException) as failure:
            logger.info("Webhook %s : échec de livraison (%r)", webhook.pk, failure)
            error = failure_text(failure)
    return _record_outcome(delivery, status, error)


def _record_outcome(delivery: Delivery, status: int | None, error: str | None) -> str:
    changes: dict[str, Any] = {"last_status": status, "updated_at": timezone.now()}
    if status is not None and 200 <= status < 300:
        changes |= {"state": Delivery.State.DELIVERED, "delivered_at": timezone.now(), "next_attempt_at": None}
        changes["last_error"] = ""
    else:
        changes["last_error"] = error or f"réponse HTTP {status}"
        if delivery.attempts >= MAX_ATTEMPTS:
            changes |= {"state": Delivery.State.ABANDONED, "next_attempt_at": None}
        else:
            changes |= {"state": Delivery.State.FAILED, "next_attempt_at": timezone.now() + backoff(delivery.attempts)}
    with transaction.atomic():
        # Only the attempt this worker claimed: a later claim (after the lease) owns the row then.
        mine = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.SENDING, attempts=delivery.attempts)
        if not mine.update(**changes):
            return Delivery.objects.get(pk=delivery.pk).state
        for name, value in changes.items():
            setattr(delivery, name, value)
        if delivery.state == Delivery.State.FAILED:
            enqueue(delivery, at=delivery.next_attempt_at)
    return delivery.state


def retry_due(now: dt.datetime | None = None) -> int:
    """Attempts every open delivery whose next attempt is due (a backend that cannot defer a task), each in its own
    short transactions."""
    now = now or timezone.now()
    due = Delivery.objects.filter(state__in=OPEN_STATES, next_attempt_at__lte=now).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        deliver(pk, now)
        count += 1
    return count
