"""Optimistic locking for the models people edit side by side (dossiers, SONS orders): each row carries a
`version`; a change is written only if the row still has the version the user read, and bumps it."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F


def update_if_unchanged(instance: models.Model, expected_version: int, **changes: Any) -> bool:
    """Writes `changes` and the next version if nobody changed the row since `expected_version`; then reloads
    `instance`. False, and nothing written, when the row has moved on."""
    updated = (
        type(instance)
        .objects.filter(pk=instance.pk, version=expected_version)
        .update(version=F("version") + 1, **changes)
    )
    if updated:
        instance.refresh_from_db()
    return bool(updated)
