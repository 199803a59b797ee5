"""Tests: the database comes from DATABASE_URL (PostgreSQL in CI), SQLite otherwise."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

PIECES_ROOT = Path(tempfile.mkdtemp(prefix="esms-pieces-"))
# Anchors of the audit log written by a test stay out of var/ (and a developer's anchors out of the tests).
AUDIT_ANCHOR_DIR = Path(tempfile.mkdtemp(prefix="esms-ancres-"))

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the apps (no collectstatic in tests), for the browser tests too.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tasks run at once, in the test (django-tasks' immediate backend); mail goes where each test says (locmem by default,
# a real SMTP server on loopback in tests/notifications).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Many tests simulate from the same address: no throttle, except in the tests of the throttles, which set their rate.
ESMS_THROTTLE_RATES = {"api_simulation": "", "simulator_page": ""}
