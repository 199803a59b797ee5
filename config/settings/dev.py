"""Local development: SQLite by default, debug on, no set-up needed."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .base import *  # noqa: F403
