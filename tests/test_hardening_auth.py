"""Issue 15, sign-in: lockout after repeated failures (django-axes), sign-ins audited, idle sessions closed,
12-character passwords, the admin at an address of the deployment's own (docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone

from esms_numerique.accounts import sessions
from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain

pytestmark = pytest.mark.django_db
PASSWORD = "instructeur-esms-demo"


@pytest.fixture
def instructor():
    return User.objects.create_user("instructeur", password=PASSWORD)


def sign_in(client: Client, password: str, username: str = "instructeur", url: str = "/connexion/", **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


# ---------------------------------------------------------------------------------------------------------------
# Lockout.


def test_the_limit_of_failures_is_five_for_fifteen_minutes():
    assert django_settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=15) == django_settings.AXES_COOLOFF_TIME
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "esms_numerique.accounts.lockout.LockoutBackend"
    assert "axes.middleware.AxesMiddleware" in django_settings.MIDDLEWARE


def test_after_the_failures_even_the_right_password_is_refused_in_french(instructor):
    client = Client()
    for _ in range(4):
        page = sign_in(client, "mauvais-mot-de-passe")
        assert page.status_code == 200 and "Identifiant ou mot de passe incorrect" in page.content.decode()
    assert sign_in(client, "mauvais-mot-de-passe").status_code == 429  # the fifth failure locks
    locked = sign_in(client, PASSWORD)
    text = locked.content.decode()
    assert locked.status_code == 429
    assert "Connexion bloquée" in text and "pendant 15 minutes, même avec le bon mot de passe" in text
    assert not signed_in(client)
    # the admin's sign-in page is locked too
    assert sign_in(client, PASSWORD, url="/admin/login/").status_code == 429
    # another address is not: the lockout counts an identifier from an address
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert sign_in(elsewhere, PASSWORD).status_code == 302 and signed_in(elsewhere)


def test_the_lockout_ends_after_the_cool_off(instructor):
    client = Client()
    for _ in range(5):
        sign_in(client, "mauvais-mot-de-passe")
    assert sign_in(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert sign_in(client, PASSWORD).status_code == 302 and signed_in(client)


def test_a_success_starts_the_count_again(instructor):
    client = Client()
    for _ in range(4):
        sign_in(client, "mauvais-mot-de-passe")
    assert sign_in(client, PASSWORD).status_code == 302
    client.post("/deconnexion/")
    for _ in range(4):
        sign_in(client, "mauvais-mot-de-passe")
    assert sign_in(client, PASSWORD).status_code == 302 and signed_in(client)


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings, instructor):
    settings.ESMS_TRUSTED_PROXIES = 1
    attacker = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(5):  # a forged X-Forwarded-For first value changes nothing: the proxy's last one counts
        sign_in(attacker, "mauvais-mot-de-passe", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.7")
    assert sign_in(attacker, PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7").status_code == 429
    colleague = Client(REMOTE_ADDR="127.0.0.1")
    assert sign_in(colleague, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 302


# ---------------------------------------------------------------------------------------------------------------
# Sign-ins in the audit log.


def test_sign_ins_and_failures_are_audited(instructor):
    client = Client(REMOTE_ADDR="192.0.2.10")
    sign_in(client, "mauvais-mot-de-passe", username="personne")
    for _ in range(5):
        sign_in(client, "mauvais-mot-de-passe")
    sign_in(client, PASSWORD)  # refused by the lockout
    failed = list(AuditEntry.objects.filter(action="login_failed").order_by("id"))
    assert [(e.actor, e.object_id) for e in failed] == [("anonyme", "personne")] + [("anonyme", "instructeur")] * 6
    assert failed[0].after == {"adresse": "192.0.2.10", "page": "/connexion/", "bloquée": False}
    assert [e.after["bloquée"] for e in failed[1:]] == [False] * 5 + [True]  # the sixth was not even checked
    ok = Client(REMOTE_ADDR="192.0.2.11")
    sign_in(ok, PASSWORD)
    entry = AuditEntry.objects.get(action="login")
    assert (entry.actor, entry.object_type, entry.object_id) == ("instructeur", "User", "instructeur")
    assert entry.after == {
        "adresse": "192.0.2.11",
        "page": "/connexion/",
        "moyen": "django.contrib.auth.backends.ModelBackend",
    }
    assert "mauvais-mot-de-passe" not in str(list(AuditEntry.objects.values_list("after", flat=True)))
    assert verify_chain() == []


# ---------------------------------------------------------------------------------------------------------------
# Idle sessions.


def test_a_session_idle_past_the_timeout_is_closed(instructor):
    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    sign_in(client, PASSWORD)
    assert client.get("/dossiers/").status_code == 200
    session = Session.objects.get()
    assert session.expire_date <= timezone.now() + dt.timedelta(minutes=30)
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))  # 30 minutes without a request
    response = client.get("/dossiers/")
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")


def test_a_request_pushes_the_end_back_at_most_once_a_minute(instructor):
    client = Client()
    sign_in(client, PASSWORD)
    first = Session.objects.get().expire_date
    client.get("/dossiers/")
    assert Session.objects.get().expire_date == first  # within the minute: no write
    session = client.session
    session[sessions.SEEN] = int(time.time()) - 61
    session.save()
    Session.objects.update(expire_date=timezone.now() + dt.timedelta(minutes=5))  # 25 minutes idle
    client.get("/dossiers/")
    assert Session.objects.get().expire_date > timezone.now() + dt.timedelta(minutes=29)


# ---------------------------------------------------------------------------------------------------------------
# Passwords.


def test_passwords_have_twelve_characters_at_least(instructor):
    with pytest.raises(ValidationError) as refused:
        validate_password("kiwi-mangue", instructor)  # 11 characters
    assert "au minimum 12 caractères" in " ".join(refused.value.messages)
    validate_password("kiwi-mangue7", instructor)  # 12
    for weak in ("123456789012345", "instructeur1"):  # all digits; the identifier
        with pytest.raises(ValidationError):
            validate_password(weak, instructor)


@pytest.mark.parametrize("username", ["admin", "instructeur", "cnsa", "grades", "porteur", "editeur"])
def test_the_demo_passwords_pass_the_validators(username):
    validate_password(f"{username}-esms-demo", User(username=username))


# ---------------------------------------------------------------------------------------------------------------
# The admin's address.


def test_the_admin_is_served_at_admin_path(settings):
    import config.urls

    settings.ADMIN_PATH = "gestion-7c1e/"
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        client = Client()
        assert client.get("/gestion-7c1e/login/").status_code == 200
        assert client.get("/admin/login/").status_code == 404
    finally:
        settings.ADMIN_PATH = "admin/"
        importlib.reload(config.urls)
        clear_url_caches()
    assert Client().get("/admin/login/").status_code == 200


PROD = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://esms:esms@127.0.0.1:5432/esms_prod_settings_check",
    "SITE_URL": "https://esms.example",
    "AUDIT_HMAC_KEY": "k" * 40,
    "ADMIN_PATH": "gestion-7c1e/",
}


def prod_settings(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in PROD} | {
        k: v for k, v in (PROD | env).items() if v is not None
    }
    code = "import config.settings.prod as s; print(s.ADMIN_PATH)"
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=False)


def test_production_requires_an_audit_key_and_an_admin_path_of_its_own():
    assert prod_settings().stdout.strip() == "gestion-7c1e/"
    for env, message in [
        ({"AUDIT_HMAC_KEY": None}, "AUDIT_HMAC_KEY doit être une clé secrète"),
        ({"AUDIT_HMAC_KEY": "trop-courte"}, "AUDIT_HMAC_KEY doit être une clé secrète"),
        ({"AUDIT_HMAC_KEY": "dev-only-audit-hmac-key-not-a-secret"}, "AUDIT_HMAC_KEY doit être une clé secrète"),
        ({"ADMIN_PATH": None}, "ADMIN_PATH doit donner l'adresse"),
        ({"ADMIN_PATH": "/admin/"}, "ADMIN_PATH doit donner l'adresse"),
    ]:
        result = prod_settings(**env)
        assert result.returncode != 0 and message in result.stderr, (env, result.stderr[-500:])


def test_production_keeps_its_database_connection_between_requests():
    """Issue 16, P4: a worker reuses its PostgreSQL connection (checked before reuse) rather than opening one per
    request; DATABASE_CONN_MAX_AGE overrides the 60 s."""
    code = (
        "from config.settings.prod import DATABASES as D; "
        "print(D['default']['CONN_MAX_AGE'], D['default']['CONN_HEALTH_CHECKS'])"
    )
    environment = {k: v for k, v in os.environ.items() if k not in PROD and k != "DATABASE_CONN_MAX_AGE"} | PROD
    run = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["60", "True"]
    environment["DATABASE_CONN_MAX_AGE"] = "0"
    run = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["0", "True"]
