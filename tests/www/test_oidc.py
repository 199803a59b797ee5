"""The optional OpenID Connect login, turned on by environment variables (checked in a fresh process)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import django, os
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
page = client.get("/connexion/").content.decode()
assert "S'identifier avec ProConnect" in page, page
response = client.get("/oidc/authenticate/")
assert response.status_code == 302, response.status_code
assert response["Location"].startswith("https://fournisseur.example/authorize?"), response["Location"]
assert "client_id=esms-test" in response["Location"]
print("ok")
"""


def test_oidc_login_redirects_to_the_provider_when_configured():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "OIDC_RP_CLIENT_ID": "esms-test",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://fournisseur.example/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": "https://fournisseur.example/token",
        "OIDC_OP_USER_ENDPOINT": "https://fournisseur.example/userinfo",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        # its own database: never the development or CI server's
        "DATABASE_URL": "sqlite://:memory:",
    }
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "ok", run.stderr[-2000:]


def test_without_configuration_there_is_no_oidc_button(client):
    assert "ProConnect" not in client.get("/connexion/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
