"""The only way entries enter the audit log, and the check that none was altered."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AuditEntry

GENESIS = "0" * 64


def record(
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    *,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditEntry:
    """Appends an entry chained to the last one. Call it inside the transaction of the change it records."""
    with transaction.atomic():
        last = AuditEntry.objects.select_for_update().order_by("-id").first()
        entry = AuditEntry(
            created_at=timezone.now(),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=before,
            after=after,
            reason=reason,
            previous_digest=last.digest if last else GENESIS,
        )
        entry.digest = entry.compute_digest()
        entry.save()
        return entry


def verify_chain() -> list[str]:
    """French descriptions of every break in the chain; an empty list means the log is intact."""
    problems = []
    previous = GENESIS
    for entry in AuditEntry.objects.order_by("id").iterator():
        if entry.previous_digest != previous:
            problems.append(f"entrée {entry.id} : ne suit pas l'entrée précédente (chaîne rompue)")
        if entry.compute_digest() != entry.digest:
            problems.append(f"entrée {entry.id} : contenu modifié après coup (empreinte différente)")
        previous = entry.digest
    return problems
