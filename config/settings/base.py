"""Settings shared by every environment; values come from environment variables (see .env.example)."""

import datetime as dt
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
    # django-ninja's own copy of Swagger UI for /api/docs, served with the static files (DECISION D-LIMITS).
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "esms_numerique.audit",
    "esms_numerique.registry",
    "esms_numerique.accounts",
    "esms_numerique.workflow",
    "esms_numerique.ledger",
    "esms_numerique.dossiers",
    "esms_numerique.instruction",
    "esms_numerique.sons",
    "esms_numerique.indicators",
    "esms_numerique.notifications",
    "esms_numerique.jobs",
    "esms_numerique.selection",
    "esms_numerique.partners",
    "esms_numerique.www",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Headers on every response, then NUL characters and oversized bodies refused before anything reads the request
    # (DECISION D-LIMITS).
    "esms_numerique.www.limits.PageCSPMiddleware",
    "esms_numerique.www.limits.PermissionsPolicyMiddleware",
    "esms_numerique.www.limits.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "esms_numerique.accounts.access.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A database too busy to answer: 503 « réessayez », nothing written (DECISION D-DATABASE-BUSY).
    "esms_numerique.www.busy.DatabaseBusyMiddleware",
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

# django-dsfr's forms build a new renderer, hence a new template engine with an empty cache, for every form unless a
# renderer is set here: the same one, built once per process (its templates parsed once, not at each page).
FORM_RENDERER = "dsfr.forms.DsfrDjangoTemplates"

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

# Twelve characters at least (docs/decisions.md, D-AUDIT-KEY), not the user's name, not a common or all-digit one.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
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
LOGIN_REDIRECT_URL = "www:home"  # each role's home page: what awaits that person (issue 12)
LOGOUT_REDIRECT_URL = "www:home"
CSRF_FAILURE_VIEW = "esms_numerique.www.site_views.csrf_failure"  # French, in the site's frame

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

# Sign-in and audit hardening (docs/decisions.md, D-AUDIT-KEY).
# The audit log's entries are keyed with this secret, kept outside the database; `esms audit ancrer` writes the
# signed daily anchor of the log's head into AUDIT_ANCHOR_DIR. The production settings refuse the default key.
AUDIT_HMAC_KEY_DEV_DEFAULT = "dev-only-audit-hmac-key-not-a-secret"
AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", AUDIT_HMAC_KEY_DEV_DEFAULT)
AUDIT_ANCHOR_DIR = Path(os.environ.get("AUDIT_ANCHOR_DIR", BASE_DIR / "var" / "audit" / "ancres"))
# The admin's address (without the leading slash); the production settings require a path of the deployment's own.
ADMIN_PATH = os.environ.get("ADMIN_PATH", "admin/").strip("/") + "/"
# A signed-in session ends after this many minutes without a request (a request pushes the end back, at most once a
# minute: esms_numerique.accounts.sessions).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60
MIDDLEWARE.append("esms_numerique.accounts.sessions.IdleTimeoutMiddleware")
# Reverse proxies in front of the site that append the client's address to X-Forwarded-For (0: none, the address
# is the connection's). The lockout and the audit of sign-ins read the client's address through it.
ESMS_TRUSTED_PROXIES = int(os.environ.get("ESMS_TRUSTED_PROXIES", "0"))
# django-axes: after AXES_FAILURE_LIMIT failed sign-ins for one username from one address, that pair is refused
# (even with the right password) for AXES_COOLOFF_MINUTES, on the site's and the admin's sign-in pages alike.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS.insert(0, "esms_numerique.accounts.lockout.LockoutBackend")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "esms_numerique.accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "esms_numerique.accounts.lockout.lockout_response"
AXES_COOLOFF_MESSAGE = "Connexion bloquée après trop d'échecs : réessayez plus tard."
AXES_PERMALOCK_MESSAGE = "Connexion bloquée après trop d'échecs : contactez un administrateur."
# Sign-ins and their failures are in the audit log: axes keeps only what counts the failures.
AXES_DISABLE_ACCESS_LOG = True

# Input bounds, throttling and security headers (docs/decisions.md, D-LIMITS).
# Bodies: the API's JSON, and multipart uploads (an extraction FINESS, a piece); a form's other bodies stop at
# DATA_UPLOAD_MAX_MEMORY_SIZE. Larger is answered 413 before it is read.
API_MAX_BODY_BYTES = int(os.environ.get("ESMS_API_MAX_BODY_BYTES", 2 * 1024 * 1024))
# A file sent to the API (a piece, a signed order form): one piece and the form's fields, as on the page.
API_MAX_UPLOAD_BYTES = int(os.environ.get("ESMS_API_MAX_UPLOAD_BYTES", PIECE_MAX_BYTES + 1024 * 1024))
UPLOAD_MAX_BODY_BYTES = int(os.environ.get("ESMS_UPLOAD_MAX_BODY_BYTES", 200 * 1024 * 1024))
# Requests per client address to the anonymous simulators (« N/s|min|h|day »; empty: no limit), then 429.
ESMS_THROTTLE_RATES = {
    "api_simulation": os.environ.get("ESMS_THROTTLE_API_SIMULATION", "30/min"),
    "simulator_page": os.environ.get("ESMS_THROTTLE_SIMULATOR_PAGE", "120/min"),
    # The partner API (issue 14): per token (or signed-in user), and per client address.
    "api_jeton": os.environ.get("ESMS_THROTTLE_API_TOKEN", "600/min"),
    "api_adresse": os.environ.get("ESMS_THROTTLE_API_ADDRESS", "1200/min"),
}
# Webhook addresses (docs/decisions.md, D-WEBHOOKS): "https" (public https hosts only) or "loopback" (tests).
ESMS_WEBHOOK_URLS = os.environ.get("ESMS_WEBHOOK_URLS", "https")
ESMS_WEBHOOK_TIMEOUT = int(os.environ.get("ESMS_WEBHOOK_TIMEOUT", "10"))
# The client's address as the throttles read it: the connection's, or what the trusted proxies add.
NINJA_NUM_PROXIES = int(os.environ.get("ESMS_TRUSTED_PROXIES", "0"))
# The throttles count in the cache: one per process by default; a cache shared by every worker in production
# (CACHE_BACKEND=django.core.cache.backends.db.DatabaseCache, CACHE_LOCATION=esms_cache, `manage.py
# createcachetable`), so that the limit holds for the site and not per worker.
CACHES = {
    "default": {
        "BACKEND": os.environ.get("CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache"),
        "LOCATION": os.environ.get("CACHE_LOCATION", "esms"),
    },
    # The pages' parts made once per state of their data (esms_numerique/caching.py): in each process's memory, never
    # shared — their key is the data's stamp, so a worker's copy is never stale, and a shared cache (a query per read)
    # would cost what it saves. Bounded in entries, not bytes: at most 3 000 per process (LocMem drops a third when
    # full). Most are a few KB (a calculation's detail, a form, a dossier's split), a national committee's content a
    # few hundred KB: tens of MB in ordinary use (an estimate), 3 000 × the largest entry if all were that large.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "esms-pages",
        "OPTIONS": {"MAX_ENTRIES": 3000},
    },
    # The dossiers' pages' contents (DECISION D-DOSSIER-PAGE-CACHE), per reader and state of the dossier: up to a few
    # hundred KB each (300 KB for a national dossier of 80 ESSMS measured for two years), hence a bound of their own:
    # 200 entries, 60 MB per process at the very most, a few MB for ordinary dossiers.
    "dossier_pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "esms-dossier-pages",
        "OPTIONS": {"MAX_ENTRIES": 200},
    },
}
# Browser features no page uses.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), usb=()"
)
# django-csp: scripts, styles, fonts and images from the site only, no inline script, no plugin, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
