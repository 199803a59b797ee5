"""Webhooks: signed deliveries to a receiver on loopback, retried with back-off, listed to the partner; and the
incremental fetch (`modifie_depuis`, cursor pagination)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.partners.models import Delivery
from esms_numerique.partners.webhooks import deliver, register, resolution_refusal, retry_due, url_refusal
from tests.dossiers.conftest import attach_pieces, paid_through_request, through_committee

from .conftest import BZH, OG_BZH, grappe

pytestmark = pytest.mark.django_db
SECRET = "un-secret-partage-de-test"


@pytest.fixture(autouse=True)
def loopback(settings):
    settings.ESMS_TODAY = "2024-03-11"
    settings.ESMS_WEBHOOK_URLS = "loopback"


class Receiver(BaseHTTPRequestHandler):
    received: list
    answers: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers, body))  # case-insensitive, as HTTP
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    handler = type("Handler", (Receiver,), {"received": [], "answers": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/esms"
    server.shutdown()
    server.server_close()


def test_events_are_posted_signed_to_the_partner_and_retried(
    world, as_role, receiver, django_capture_on_commit_callbacks
):
    handler, url = receiver
    porteur = as_role("porteur")
    registered = porteur.post("/api/webhooks", {"url": url, "secret": SECRET})
    assert registered.status_code == 201, registered.content
    as_role("autre_porteur").post("/api/webhooks", {"url": url + "/autre", "secret": SECRET})
    handler.answers.append(500)  # the first delivery fails
    with django_capture_on_commit_callbacks(execute=True):
        created = porteur.post(
            "/api/dossiers", {"title": "Grappe", "campaign": "2024", "grappe": grappe(OG_BZH, BZH[0:2])}
        )
    reference = created.json()["reference"]
    with django_capture_on_commit_callbacks(execute=True):
        porteur.post(f"/api/dossiers/{reference}/messages", {"body": "Bonjour"})
    # the other OG's webhook hears nothing of this dossier
    assert [h["Host"] for h, _ in handler.received] == [url.split("/")[2]]
    headers, body = handler.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Esms-Signature"], expected)
    payload = json.loads(body)
    assert (payload["evenement"], payload["reference"], payload["donnees"]["texte"]) == (
        "dossier.message",
        reference,
        "Bonjour",
    )
    delivery = Delivery.objects.get()
    assert headers["X-Esms-Delivery"] == str(delivery.delivery_id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("echec", 1, 500)
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)

    assert retry_due() == 0  # not yet due
    assert retry_due(timezone.now() + dt.timedelta(minutes=1)) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("livree", 2)
    again_headers, again_body = handler.received[1]
    assert again_body == body and again_headers["X-Esms-Delivery"] == str(delivery.delivery_id)

    hook = registered.json()["id"]
    listed = porteur.get(f"/api/webhooks/{hook}/livraisons").json()["items"]
    assert [(d["event"], d["state"], d["attempts"]) for d in listed] == [("dossier.message", "livree", 2)]
    assert as_role("autre_porteur").get(f"/api/webhooks/{hook}/livraisons").status_code == 404
    off = porteur.post(f"/api/webhooks/{hook}/desactiver")
    assert off.json()["active"] is False


def test_state_changes_of_orders_reach_the_editeur(
    world, as_role, receiver, settings, django_capture_on_commit_callbacks
):
    settings.ESMS_TODAY = "2023-05-02"
    handler, url = receiver
    editeur = as_role("editeur")
    assert editeur.post("/api/webhooks", {"url": url, "secret": SECRET}).status_code == 201
    body = {
        "couloir": "MS1",
        "og_finess_ej": OG_BZH,
        "solution": world["solution"].pk,
        "signed_on": "2023-05-01",
        "essms": [{"finess_et": BZH[0], "current_version": "4.2"}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        order = editeur.post("/api/sons/commandes", body).json()
    with django_capture_on_commit_callbacks(execute=True):
        editeur.post(
            f"/api/sons/commandes/{order['reference']}/transitions",
            {"transition": "demander_avance", "version": order["version"]},
        )
    events = [json.loads(b)["evenement"] for _, b in handler.received]
    assert events == ["commande.creee", "commande.etat"]
    assert json.loads(handler.received[1][1])["donnees"]["etat"] == "avance_demandee"


def test_webhook_addresses_are_checked(world, as_role, settings):
    refused = as_role("porteur").post("/api/webhooks", {"url": "http://10.0.0.1/x", "secret": SECRET})
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["champ « url » : seules les adresses locales (127.0.0.1) sont acceptées ici"]
    settings.ESMS_WEBHOOK_URLS = "https"
    assert url_refusal("https://partenaire.example/hook") is None
    assert url_refusal("http://partenaire.example/hook") == "adresse https attendue"
    assert url_refusal("https://127.0.0.1/hook") == "adresse locale refusée"
    assert url_refusal("https://192.168.1.2/hook") == "adresse IP privée ou réservée refusée"


def test_modifie_depuis_returns_exactly_the_changed_objects(world, as_role):
    porteur = as_role("porteur")
    references = []
    for n in range(3):
        body = {"title": f"Grappe {n}", "campaign": "2024", "grappe": grappe(OG_BZH, BZH[2 * n : 2 * n + 2])}
        references.append(porteur.post("/api/dossiers", body).json()["reference"])
    everything = porteur.get("/api/dossiers").json()
    assert [d["reference"] for d in everything["items"]] == references
    since = everything["items"][-1]["changed_at"]
    assert porteur.get("/api/dossiers", modifie_depuis=since).json() == {"items": [], "next_cursor": None}
    changed = references[0]
    version = Dossier.objects.get(reference=changed).version
    porteur.post(f"/api/dossiers/{changed}/messages", {"body": "Un changement."})
    porteur.post(
        f"/api/dossiers/{changed}/grappe", {"version": version, "title": "Renommé", "grappe": grappe(OG_BZH, BZH[0:2])}
    )
    after = porteur.get("/api/dossiers", modifie_depuis=since).json()
    assert [d["reference"] for d in after["items"]] == [changed]
    # the thread too (its messages' own dates: the platform's clock, pinned in tests)
    first = porteur.get(f"/api/dossiers/{changed}/messages").json()["items"][-1]["changed_at"]
    porteur.post(f"/api/dossiers/{changed}/messages", {"body": "Un autre."})
    thread = porteur.get(f"/api/dossiers/{changed}/messages", modifie_depuis=first).json()
    assert [m["body"] for m in thread["items"]] == ["Un autre."]
    # one at a time, in the order of the last change, with an opaque cursor
    seen, cursor = [], ""
    while True:
        page = porteur.get("/api/dossiers", taille=1, curseur=cursor).json()
        seen += [d["reference"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [references[1], references[2], changed]
    bad = porteur.get("/api/dossiers", curseur="n'importe quoi")
    assert bad.status_code == 400
    assert bad.json()["errors"][0].startswith("champ « curseur »")
    assert porteur.get("/api/dossiers", taille=500).status_code == 400


def test_payments_of_a_dossier_reach_its_porteur(world, receiver, django_capture_on_commit_callbacks):
    handler, url = receiver
    porteur, ars = world["users"]["porteur"], world["users"]["ars"]
    register(porteur, url, SECRET)
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(OG_BZH, BZH[0:2])))
    for user, name in ((porteur, "deposer"), (ars, "declarer_recevable"), (ars, "instruire")):
        dossier = apply_transition(user, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    for name in ("engager", "signer_convention"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    handler.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        paid_through_request(porteur, ars, dossier)
    events = [(p["evenement"], p["donnees"]["transition"]) for p in (json.loads(b) for _, b in handler.received)]
    assert events == [
        ("dossier.etat", "demander_avance"),
        ("paiement.etat", "approuver"),
        ("dossier.etat", "verser_avance"),  # the payment's step moves the dossier on
        ("paiement.etat", "verser"),
    ]


def test_a_failed_delivery_is_queued_again_later_when_the_backend_can_wait(
    world, as_role, settings, django_capture_on_commit_callbacks
):
    """With a backend that defers tasks (the database's in production), the next attempt is a task to run after
    the back-off; here django-tasks' dummy backend records it."""
    from django_tasks import default_task_backend

    porteur = as_role("porteur")
    hook = porteur.post("/api/webhooks", {"url": "http://127.0.0.1:9/ferme", "secret": SECRET}).json()
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        porteur.post("/api/dossiers", {"title": "Grappe", "campaign": "2024", "grappe": grappe(OG_BZH, BZH[0:2])})
    with django_capture_on_commit_callbacks(execute=True):
        reference = Dossier.objects.get().reference
        porteur.post(f"/api/dossiers/{reference}/messages", {"body": "Bonjour"})

    def queued() -> list:
        return [r for r in default_task_backend.results if r.task.name == "deliver_webhook"]

    assert len(queued()) == 1
    delivery = Delivery.objects.get(webhook_id=hook["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(delivery.pk) == "echec"  # nothing listens on port 9
    delivery.refresh_from_db()
    retry = queued()[-1]
    assert retry.task.run_after == delivery.next_attempt_at
    assert delivery.next_attempt_at - timezone.now() > dt.timedelta(seconds=25)
    # the partner reads a coarse reason in French, not Python's exception text
    assert delivery.last_error == "connexion refusée"


def test_in_production_a_host_must_resolve_to_public_addresses(monkeypatch, settings):
    settings.ESMS_WEBHOOK_URLS = "https"
    answers = {"public.example": "203.0.113.7", "interne.example": "10.1.2.3"}

    def getaddrinfo(host, port, **kwargs):
        if host not in answers:
            raise socket.gaierror("inconnu")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert resolution_refusal("https://interne.example/hook") == "adresse refusée : réseau privé ou réservé"
    assert resolution_refusal("https://absent.example/hook") == "nom d'hôte introuvable"
    # 203.0.113.0/24 is documentation space, not global either: the check refuses it too
    assert resolution_refusal("https://public.example/hook") is not None
    answers["public.example"] = "93.184.215.14"
    assert resolution_refusal("https://public.example/hook") is None


def _hook_and_delivery(world, url: str) -> Delivery:
    porteur = world["users"]["porteur"]
    webhook = register(porteur, url, SECRET)
    return Delivery.objects.create(
        webhook=webhook, event="dossier.message", reference="X", payload={"a": 1}, next_attempt_at=timezone.now()
    )


def test_the_post_runs_outside_any_transaction(world, receiver, monkeypatch):
    """The look-up and the POST may take seconds: no transaction (and no row lock) is held meanwhile — on SQLite
    it would hold every write of the platform."""
    from django.db import connection

    from esms_numerique.partners import webhooks

    handler, url = receiver
    delivery = _hook_and_delivery(world, url)
    depth = len(connection.atomic_blocks)  # the test's own transaction
    seen = []
    real_post = webhooks._post

    def post(*args):
        seen.append(len(connection.atomic_blocks))
        # the attempt is claimed and committed before the POST: another worker sees it « en cours »
        seen.append(Delivery.objects.get(pk=delivery.pk).state)
        return real_post(*args)

    monkeypatch.setattr(webhooks, "_post", post)
    assert deliver(delivery.pk) == "livree"
    assert seen == [depth, "en_cours"]
    assert len(handler.received) == 1


def test_a_delivery_not_yet_due_or_delivered_is_not_sent_again(world, receiver):
    handler, url = receiver
    delivery = _hook_and_delivery(world, url)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
    assert deliver(delivery.pk) == "en_attente"
    assert handler.received == []
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert deliver(delivery.pk) == "livree"
    assert deliver(delivery.pk) == "livree"
    delivery.refresh_from_db()
    assert (len(handler.received), delivery.attempts) == (1, 1)


def test_a_deactivated_account_receives_nothing(world, receiver):
    handler, url = receiver
    delivery = _hook_and_delivery(world, url)
    other = Delivery.objects.create(webhook=delivery.webhook, event="e", payload={}, next_attempt_at=timezone.now())
    world["users"]["porteur"].is_active = False
    world["users"]["porteur"].save()
    assert deliver(delivery.pk) == "abandonnee"
    assert handler.received == []
    other.refresh_from_db()
    assert (other.state, other.last_error) == ("abandonnee", "compte désactivé")


def test_the_partner_reads_a_coarse_french_error(world, receiver):
    handler, url = receiver
    handler.answers.append(500)
    delivery = _hook_and_delivery(world, url)
    assert deliver(delivery.pk) == "echec"
    delivery.refresh_from_db()
    assert (delivery.last_status, delivery.last_error) == (500, "réponse HTTP 500")


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "::ffff:192.168.1.1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    ],
)
def test_ipv6_addresses_carrying_a_private_ipv4_are_refused(monkeypatch, settings, address):
    settings.ESMS_WEBHOOK_URLS = "https"

    def getaddrinfo(host, port, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert resolution_refusal("https://traduit.example/hook") == "adresse refusée : réseau privé ou réservé"
    assert url_refusal(f"https://[{address}]/hook") == "adresse IP privée ou réservée refusée"


def test_a_nat64_address_of_a_public_ipv4_is_accepted(monkeypatch, settings):
    settings.ESMS_WEBHOOK_URLS = "https"
    assert url_refusal("https://[64:ff9b::5db8:d70e]/hook") is None  # 93.184.215.14


def test_the_connection_goes_to_the_checked_address(world, receiver, monkeypatch, settings):
    """The name is looked up once, checked, and the POST connects to that address (a second look-up could answer
    a private one: DNS rebinding); the Host header keeps the name."""
    handler, url = receiver
    port = url.split(":")[2].split("/")[0]
    calls = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    delivery = _hook_and_delivery(world, f"http://localhost:{port}/esms")
    assert deliver(delivery.pk) == "livree"
    # one look-up, by `resolve`: the connection itself asked for none (an IP address needs none)
    assert [c for c in calls if c == "localhost"] == ["localhost"]
    assert handler.received[0][0]["Host"] == f"localhost:{port}"


def test_a_slow_name_lookup_is_bounded(monkeypatch, settings):
    import time

    from esms_numerique.partners.webhooks import resolve

    settings.ESMS_WEBHOOK_URLS = "https"
    settings.ESMS_WEBHOOK_DNS_TIMEOUT = 0.2

    def getaddrinfo(host, port, **kwargs):
        time.sleep(1)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    started = time.monotonic()
    assert resolve("https://lent.example/hook") == (None, "nom d'hôte : délai dépassé")
    assert time.monotonic() - started < 0.9


@pytest.mark.django_db(transaction=True)
def test_the_platform_writes_while_a_receiver_is_slow(settings):
    """A receiver that takes its time: meanwhile another connection writes the delivery's row and its owner's
    (nothing is locked during the POST)."""
    from django.contrib.auth.models import User
    from django.db import connection, connections

    settings.ESMS_WEBHOOK_URLS = "loopback"
    owner = User.objects.create_user("lent", password="x")
    writes = []

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            try:
                if connection.vendor == "postgresql":
                    connection.cursor().execute("SET lock_timeout = '2s'")
                User.objects.filter(pk=owner.pk).update(first_name="écrit pendant l'envoi")
                Delivery.objects.filter(pk=delivery.pk).update(reference="ÉCRIT")
                writes.append("ok")
            except Exception as error:  # a lock held by the sender
                writes.append(repr(error))
            finally:
                connections.close_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        webhook = register(owner, f"http://127.0.0.1:{server.server_port}/esms", SECRET)
        delivery = Delivery.objects.create(
            webhook=webhook, event="e", reference="X", payload={}, next_attempt_at=timezone.now()
        )
        assert deliver(delivery.pk) == "livree"
    finally:
        server.shutdown()
        server.server_close()
    assert writes == ["ok"]
    assert Delivery.objects.get(pk=delivery.pk).reference == "ÉCRIT"
