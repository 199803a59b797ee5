"""Settings shared by every environment; values come from environment variables (see .env.example)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-secret-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "dsfr",
    "widget_tweaks",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "esms_numerique.audit",
    "esms_numerique.registry",
    "esms_numerique.accounts",
    "esms_numerique.workflow",
    "esms_numerique.ledger",
    "esms_numerique.dossiers",
    "esms_numerique.sons",
    "esms_numerique.indicators",
    "esms_numerique.notifications",
    "esms_numerique.jobs",
    "esms_numerique.www",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "esms_numerique.accounts.access.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "esms_numerique.www.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction begins: a check and the write it guards are never interleaved
    # with another writer's, and a second writer waits instead of failing (docs/decisions.md, D-LEDGER).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

# Optional OpenID Connect login (ProConnect-style), on when its client id is set. A user who signs in this
# way for the first time gets an account without a role: an administrator grants it (audited).
OIDC_ENABLED = bool(os.environ.get("OIDC_RP_CLIENT_ID"))
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("esms_numerique.www.oidc.ProConnectBackend")
    OIDC_RP_CLIENT_ID = os.environ["OIDC_RP_CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ["OIDC_OP_AUTHORIZATION_ENDPOINT"]
    OIDC_OP_TOKEN_ENDPOINT = os.environ["OIDC_OP_TOKEN_ENDPOINT"]
    OIDC_OP_USER_ENDPOINT = os.environ["OIDC_OP_USER_ENDPOINT"]
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
    OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email given_name usual_name")
    OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "ProConnect")

LOGIN_URL = "www:login"
LOGIN_REDIRECT_URL = "www:registry_search"
LOGOUT_REDIRECT_URL = "www:home"

# Pieces of dossiers: stored outside the web root, served only through a view that checks who may see them.
PIECES_ROOT = Path(os.environ.get("ESMS_PIECES_ROOT", BASE_DIR / "var" / "pieces"))
PIECE_MAX_BYTES = int(os.environ.get("ESMS_PIECE_MAX_BYTES", 10 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = PIECE_MAX_BYTES + 1024 * 1024

# The platform's date (AAAA-MM-JJ), pinned for demos and tests so that a campaign's window is open; empty in
# production.
ESMS_TODAY = os.environ.get("ESMS_TODAY", "")

SITE_TITLE = "ESMS numérique"
SITE_TAGLINE = "Ségur du numérique en santé — secteur social et médico-social"

# E-mail (docs/decisions.md, D-NOTIFICATIONS). SMTP unless EMAIL_BACKEND says otherwise; the development settings
# print to the console. Links in messages start with SITE_URL.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "") == "1"
# A sender holds its outbox row locked while it talks to the server: never for long.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ESMS numérique <ne-pas-repondre@esms-numerique.localhost>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# An e-mail the server refuses is tried again, then marked failed after this many attempts (admin, « échec »).
NOTIFICATIONS_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATIONS_MAX_ATTEMPTS", "5"))

# Background work (django-tasks). By default a task runs at once, in the process that enqueues it (`make run`,
# SQLite, tests): nothing else to start. Production stores tasks in PostgreSQL for `manage.py db_worker`.
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")}}
