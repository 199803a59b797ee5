"""The platform's date. Demos and tests may pin it (ESMS_TODAY=AAAA-MM-JJ) so that a campaign's window is open
(docs/decisions.md, D-PLATFORM-DATE)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone


def today() -> dt.date:
    pinned = getattr(settings, "ESMS_TODAY", "")
    return dt.date.fromisoformat(pinned) if pinned else timezone.localdate()


def now() -> dt.datetime:
    pinned = getattr(settings, "ESMS_TODAY", "")
    if not pinned:
        return timezone.now()
    current = timezone.localtime()
    return current.replace(year=today().year, month=today().month, day=today().day)


@contextlib.contextmanager
def pinned(on: dt.date) -> Iterator[None]:
    """The platform's date set to `on` for a block (the demo files its dossiers on the campaign's first days)."""
    before = getattr(settings, "ESMS_TODAY", "")
    settings.ESMS_TODAY = on.isoformat()
    try:
        yield
    finally:
        settings.ESMS_TODAY = before
