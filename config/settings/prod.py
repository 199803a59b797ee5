"""Production: every secret from the environment, PostgreSQL, hardened cookies."""

import os

# Tasks wait in PostgreSQL for `manage.py db_worker` (README « Production ») unless TASKS_BACKEND says otherwise.
os.environ.setdefault("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")

from .base import *  # noqa: F403

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise RuntimeError("DATABASE_URL doit désigner une base PostgreSQL en production")
# A gunicorn worker keeps its PostgreSQL connection between requests (checked before reuse) instead of opening one
# per request: a few milliseconds and a server process saved on every page (issue 16, P4).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Links in e-mails point at the public address: no default in production.
SITE_URL = os.environ["SITE_URL"].rstrip("/")
# The audit log's key and the admin's address are the deployment's own (docs/decisions.md, D-AUDIT-KEY).
AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", "")
if len(AUDIT_HMAC_KEY) < 32 or AUDIT_HMAC_KEY == AUDIT_HMAC_KEY_DEV_DEFAULT:  # noqa: F405
    raise RuntimeError("AUDIT_HMAC_KEY doit être une clé secrète propre à la production (32 caractères au moins)")
if not os.environ.get("ADMIN_PATH", "").strip("/") or ADMIN_PATH == "admin/":  # noqa: F405
    raise RuntimeError("ADMIN_PATH doit donner l'adresse de l'administration, autre que « admin/ »")
