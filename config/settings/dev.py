"""Local development: SQLite by default, debug on, no set-up needed."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
# The local demo lives during the 2024 campaign, so that dossiers can be filed.
os.environ.setdefault("ESMS_TODAY", "2024-03-11")
# E-mails are printed where `make run` serves (EMAIL_BACKEND=...filebased.EmailBackend writes them to var/mail).
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

from .base import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
