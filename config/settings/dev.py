"""Local development: SQLite by default, debug on, no set-up needed."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .base import *  # noqa: F403

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
