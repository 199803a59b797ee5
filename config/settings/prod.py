"""Production: every secret from the environment, PostgreSQL, hardened cookies."""

import os

# Tasks wait in PostgreSQL for `manage.py db_worker` (README « Production ») unless TASKS_BACKEND says otherwise.
os.environ.setdefault("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")

from .base import *  # noqa: F403

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise RuntimeError("DATABASE_URL doit désigner une base PostgreSQL en production")
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
