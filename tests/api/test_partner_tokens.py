"""Personal API tokens: hashed, shown once, scoped, expiring, revocable, last use recorded; the CLI; the session
with CSRF; throttles per token."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from click.testing import CliRunner
from django.test import Client

from esms_numerique.cli import main
from esms_numerique.partners.models import ApiToken
from esms_numerique.partners.tokens import create_token, revoke_token

from .conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def platform_date(settings):
    settings.ESMS_TODAY = "2024-03-11"


def test_a_token_is_stored_hashed_and_acts_as_its_user(world, client):
    issued = create_token(world["users"]["porteur"], "Mon SI", "ecriture", None)
    assert issued.secret.startswith("esmsn_")
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.digest == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in str(ApiToken.objects.values_list())
    assert token.last_used_at is None
    response = Api(client, issued.secret).get("/api/dossiers")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_expired_and_unknown_tokens_get_401(world, client, settings):
    user = world["users"]["porteur"]
    revoked = create_token(user, "x", "ecriture", None)
    revoke_token(revoked.token, "tests")
    expiring = create_token(user, "x", "lecture", dt.date(2024, 3, 11))
    assert Api(client, expiring.secret).get("/api/dossiers").status_code == 200  # its last day
    settings.ESMS_TODAY = "2024-03-12"
    for secret in (revoked.secret, expiring.secret, "esmsn_inconnu", "pas-un-jeton"):
        response = Api(client, secret).get("/api/dossiers")
        assert response.status_code == 401, secret
        assert response.json()["code"] == "jeton_invalide"
        assert response["WWW-Authenticate"] == "Bearer"
    anonymous = client.get("/api/dossiers")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "non_authentifie"


def test_a_read_token_is_refused_on_writes(world, client):
    reader = create_token(world["users"]["porteur"], "lecture", "lecture", None)
    api = Api(client, reader.secret)
    assert api.get("/api/dossiers").status_code == 200
    response = api.post("/api/dossiers", {"title": "x", "campaign": "2024", "grappe": {}})
    assert response.status_code == 403
    assert response.json()["code"] == "portee_insuffisante"
    assert "lecture seule" in response.json()["detail"]


def test_the_session_writes_only_with_its_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world["users"]["porteur"])
    assert browser.get("/api/dossiers").status_code == 200
    response = browser.post("/api/dossiers", "{}", content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_cli_creates_lists_and_revokes_tokens(world, client):
    runner = CliRunner()
    created = runner.invoke(
        main, ["api", "jeton", "creer", "--utilisateur", "editeur", "--portee", "lecture", "--expire", "2024-12-31"]
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("esmsn_")
    assert Api(client, secret).get("/api/sons/commandes").status_code == 200
    token = ApiToken.objects.get(digest=hashlib.sha256(secret.encode()).hexdigest())
    assert (token.user.username, token.scope, token.expires_on) == ("editeur", "lecture", dt.date(2024, 12, 31))
    listed = runner.invoke(main, ["api", "jeton", "lister", "--utilisateur", "editeur"])
    assert token.prefix in listed.output
    assert secret not in listed.output
    revoked = runner.invoke(main, ["api", "jeton", "revoquer", str(token.pk)])
    assert revoked.exit_code == 0
    assert Api(client, secret).get("/api/sons/commandes").status_code == 401
    bad = runner.invoke(main, ["api", "jeton", "creer", "--utilisateur", "personne", "--portee", "lecture"])
    assert bad.exit_code == 2
    assert "utilisateur « personne » inconnu" in bad.output


def test_throttled_per_token_then_429_with_retry_after(world, client, settings):
    settings.ESMS_THROTTLE_RATES = {**settings.ESMS_THROTTLE_RATES, "api_jeton": "2/min"}
    api = Api(client, world["tokens"]["porteur"])
    assert [api.get("/api/dossiers").status_code for _ in range(2)] == [200, 200]
    refused = api.get("/api/dossiers")
    assert refused.status_code == 429
    assert refused.json()["code"] == "trop_de_requetes"
    assert int(refused["Retry-After"]) >= 1
    assert Api(client, world["tokens"]["ars"]).get("/api/dossiers").status_code == 200  # another token


def test_the_schema_documents_every_write_with_an_example_and_the_bearer_scheme(client):
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                body = content.get("schema", {})
                body = components[body["$ref"].rsplit("/", 1)[1]] if "$ref" in body else body
                if "example" not in content and "examples" not in body:
                    missing.append(f"{method.upper()} {path} ({media})")
            if path.startswith("/api/sons/commandes") or path.startswith("/api/dossiers"):
                assert "401" in operation["responses"], path
    assert not missing, missing
    assert schema["components"]["schemas"]["ErrorOut"]["properties"]["code"]["type"] == "string"


def test_an_oversized_body_is_refused_before_it_is_read(world, client, settings):
    settings.API_MAX_BODY_BYTES = 1000
    api = Api(client, world["tokens"]["editeur"])
    response = api.post("/api/sons/commandes", {"couloir": "MS1", "padding": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["detail"] == "Requête trop volumineuse"
