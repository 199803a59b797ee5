"""The only way entries enter the audit log, the check that none was altered, and the daily anchor of its head
outside the database (docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import digests
from .digests import GENESIS
from .models import AuditEntry

__all__ = ["GENESIS", "record", "verify", "verify_chain", "write_anchor"]

# The PostgreSQL advisory lock every audited write takes until its transaction ends: one writer at a time appends,
# so that two transactions never chain to the same predecessor (SQLite: writers are serialised already, D-LEDGER).
LOCK_KEY = zlib.crc32(b"esms_numerique.audit")
ANCHOR_PREFIX = "ancre-"


def _serialise_writers() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


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
    """Appends an entry chained to the last one. Call it inside the transaction of the change it records: the
    entry is written, or not, with the change."""
    with transaction.atomic():
        _serialise_writers()
        last = AuditEntry.objects.order_by("-id").only("digest").first()
        entry = AuditEntry(
            created_at=timezone.now(),
            actor=str(actor)[:150],
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:64],
            before=before,
            after=after,
            reason=reason,
            previous_digest=last.digest if last else GENESIS,
            version=digests.KEYED,
        )
        entry.digest = entry.compute_digest()
        entry.save()
        return entry


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    anchors: int = 0
    last_anchor: str = ""  # the date of the latest anchor checked

    @property
    def intact(self) -> bool:
        return not self.problems


def _anchor_text(date: str, last_id: int, digest: str) -> str:
    return f"{date}|{last_id}|{digest}"


def write_anchor(on: dt.date | None = None) -> tuple[Path, dict[str, Any]]:
    """Writes the day's anchor: the date, the last entry's id and digest, signed with the key. The log is verified
    first: a log already altered is not anchored (ValueError with the problems)."""
    report = verify()
    if not report.intact:
        raise ValueError("; ".join(report.problems))
    on = on or timezone.localdate()
    last = AuditEntry.objects.order_by("-id").only("id", "digest").first()
    last_id, digest = (last.id, last.digest) if last else (0, GENESIS)
    anchor = {
        "date": on.isoformat(),
        "last_id": last_id,
        "digest": digest,
        "signature": digests.signature(settings.AUDIT_HMAC_KEY, _anchor_text(on.isoformat(), last_id, digest)),
    }
    folder = Path(settings.AUDIT_ANCHOR_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ANCHOR_PREFIX}{on.isoformat()}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(anchor, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)  # a reader never sees half an anchor
    return path, anchor


def _read_anchors(folder: Path, problems: list[str]) -> list[dict[str, Any]]:
    anchors = []
    for path in sorted(folder.glob(f"{ANCHOR_PREFIX}*.json")) if folder.is_dir() else []:
        try:
            anchor = json.loads(path.read_text(encoding="utf-8"))
            text = _anchor_text(str(anchor["date"]), int(anchor["last_id"]), str(anchor["digest"]))
            signed = str(anchor["signature"])
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"ancre {path.name} : illisible")
            continue
        if not digests.same(signed, digests.signature(settings.AUDIT_HMAC_KEY, text)):
            problems.append(f"ancre {path.name} : signature invalide (ancre modifiée, ou écrite avec une autre clé)")
            continue
        anchors.append(anchor)
    return anchors


def _check_anchors(anchors: list[dict[str, Any]], problems: list[str]) -> None:
    ids = {int(a["last_id"]) for a in anchors if int(a["last_id"]) > 0}
    found = dict(AuditEntry.objects.filter(id__in=ids).values_list("id", "digest")) if ids else {}
    for anchor in anchors:
        last_id, date = int(anchor["last_id"]), anchor["date"]
        if last_id == 0:
            continue
        if last_id not in found:
            problems.append(
                f"ancre du {date} : l'entrée {last_id} qu'elle scelle n'est plus dans le journal (journal tronqué "
                "ou entrée supprimée)"
            )
        elif not digests.same(found[last_id], anchor["digest"]):
            problems.append(f"ancre du {date} : l'entrée {last_id} n'est plus celle qu'elle a scellée")


def verify() -> Verification:
    """The chain entry by entry (each follows the previous one, each digest is its fields' under the key, no entry
    without the key after the first keyed one), then every anchor (signed by the key, and naming an entry still there
    with the same digest)."""
    report = Verification()
    problems = report.problems
    previous, keyed_seen, legacy_seen = GENESIS, False, False
    for entry in AuditEntry.objects.order_by("id").iterator():
        report.entries += 1
        if entry.previous_digest != previous:
            problems.append(f"entrée {entry.id} : ne suit pas l'entrée précédente (chaîne rompue)")
        if entry.version not in (digests.LEGACY, digests.KEYED):
            problems.append(f"entrée {entry.id} : version d'empreinte inconnue ({entry.version})")
        elif entry.version == digests.LEGACY and keyed_seen:
            problems.append(f"entrée {entry.id} : empreinte sans clé après les entrées scellées par la clé")
        elif not digests.same(entry.compute_digest(), entry.digest):
            problems.append(f"entrée {entry.id} : contenu modifié après coup (empreinte différente)")
        keyed_seen |= entry.version == digests.KEYED
        legacy_seen |= entry.version == digests.LEGACY
        previous = entry.digest
    if legacy_seen and not keyed_seen:
        # The migration that brought the key sealed the entries written before it with a keyed entry.
        problems.append("aucune entrée scellée par la clé : les entrées sans clé ont pu être réécrites")
    anchors = _read_anchors(Path(settings.AUDIT_ANCHOR_DIR), problems)
    _check_anchors(anchors, problems)
    report.anchors = len(anchors)
    report.last_anchor = max((str(a["date"]) for a in anchors), default="")
    return report


def verify_chain() -> list[str]:
    """French descriptions of every break in the log and its anchors; an empty list means the log is intact."""
    return verify().problems
