"""The user's page of API tokens and webhooks: a token shown once then only its beginning, revoked from the page;
a webhook registered and deactivated; nobody sees another user's."""

from __future__ import annotations

import re

import pytest

from esms_numerique.partners.models import ApiToken, Webhook

from .conftest import Api

pytestmark = pytest.mark.django_db
URL = "/compte/api/"


@pytest.fixture(autouse=True)
def platform_date(settings):
    settings.ESMS_TODAY = "2024-03-11"
    settings.ESMS_WEBHOOK_URLS = "loopback"


def test_a_token_is_created_shown_once_and_revoked_from_the_page(world, client):
    client.force_login(world["users"]["editeur"])
    created = client.post(URL, {"action": "creer", "name": "ERP", "scope": "ecriture", "expires_on": "2024-12-31"})
    # POST, then redirect: reloading the page shown does not post the form again
    assert (created.status_code, created["Location"]) == (302, URL)
    shown = client.get(URL)
    assert "no-store" in shown["Cache-Control"]  # neither the browser nor a proxy keeps the secret
    secret = re.search(r'value="(esmsn_[^"]+)"', shown.content.decode()).group(1)
    token = ApiToken.objects.get(user__username="editeur", name="ERP")
    assert (token.scope, str(token.expires_on)) == ("ecriture", "2024-12-31")
    assert Api(client, secret).get("/api/sons/commandes").status_code == 200
    page = client.get(URL).content.decode()  # a reload: shown once, and no second token
    assert secret not in page
    assert token.prefix in page
    assert ApiToken.objects.filter(user__username="editeur", name="ERP").count() == 1
    assert "api_token_issued" not in client.session
    revoked = client.post(URL, {"action": "revoquer", "token": token.pk}, follow=True)
    assert "révoqué" in revoked.content.decode()
    assert Api(client, secret).get("/api/sons/commandes").status_code == 401
    expired = {"action": "creer", "name": "x", "scope": "lecture", "expires_on": "2020-01-01"}
    past = client.post(URL, expired, follow=True)
    assert "Jeton refusé : date d&#x27;expiration 01/01/2020 déjà passée." in past.content.decode()


def test_someone_elses_token_and_webhook_are_out_of_reach(world, client):
    other = ApiToken.objects.get(user__username="porteur")
    hook = Webhook.objects.create(user=world["users"]["porteur"], url="http://127.0.0.1:9/x", secret="s" * 16)
    client.force_login(world["users"]["editeur"])
    assert other.prefix not in client.get(URL).content.decode()
    client.post(URL, {"action": "revoquer", "token": other.pk})
    client.post(URL, {"action": "desactiver", "webhook": hook.pk})
    other.refresh_from_db()
    hook.refresh_from_db()
    assert other.revoked_at is None and hook.active


def test_a_webhook_is_registered_and_deactivated_from_the_page(world, client):
    client.force_login(world["users"]["porteur"])
    refused = client.post(URL, {"action": "webhook", "url": "https://exemple.fr/x", "secret": "court"}, follow=True)
    assert "Webhook refusé" in refused.content.decode()
    client.post(URL, {"action": "webhook", "url": "http://127.0.0.1:9/esms", "secret": "un-secret-de-seize-car"})
    hook = Webhook.objects.get(user__username="porteur")
    assert hook.active
    client.post(URL, {"action": "desactiver", "webhook": hook.pk})
    hook.refresh_from_db()
    assert not hook.active
