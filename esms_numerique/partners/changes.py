"""When a dossier or an order last changed, for `?modifie_depuis=` and the cursor pagination of the API
(DECISION D-API-SYNC, docs/decisions.md). Dossiers and orders carry no `updated_at` of their own; every change of
either is audited (audit.services.record, in the change's transaction), so each audit entry about one stamps it
here, in the same transaction."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import DateTimeField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Change

# The audit log's object types → the kind of stamp.
KINDS = {"Dossier": Change.Kind.DOSSIER, "Order": Change.Kind.ORDER}
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def on_audit_entry(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    kind = KINDS.get(instance.object_type)
    if not created or raw or kind is None:
        return
    Change.objects.bulk_create(
        [Change(kind=kind, reference=instance.object_id, changed_at=instance.created_at)],
        update_conflicts=True,
        unique_fields=["kind", "reference"],
        update_fields=["changed_at"],
    )


def with_changed_at(queryset: QuerySet, kind: str, fallback: str | None = None) -> QuerySet:
    """The queryset with `changed_at`: its stamp, else `fallback` (a datetime field), else 2000-01-01."""
    stamp = Change.objects.filter(kind=kind, reference=OuterRef("reference")).values("changed_at")[:1]
    default = fallback if fallback else Value(EPOCH, output_field=DateTimeField())
    return queryset.annotate(changed_at=Coalesce(Subquery(stamp), default, output_field=DateTimeField()))


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    changed_at: dt.datetime
    pk: int

    def encode(self) -> str:
        raw = json.dumps([self.changed_at.isoformat(), self.pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, pk = json.loads(raw)
            changed_at = dt.datetime.fromisoformat(at)
            if changed_at.tzinfo is None or not isinstance(pk, int) or isinstance(pk, bool):
                raise ValueError
            return cls(changed_at, pk)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise BadCursor("curseur illisible : reprenez-le tel que la page précédente l'a donné") from None


def page(queryset: QuerySet, since: dt.datetime | None, cursor: str, size: int) -> tuple[list, str | None]:
    """One page of an annotated queryset in (changed_at, id) order, after `since` (strictly) and after the cursor;
    with the cursor of the next page, or None after the last one."""
    if since is not None:
        queryset = queryset.filter(changed_at__gt=since)
    if cursor:
        after = Cursor.decode(cursor)
        queryset = queryset.filter(Q(changed_at__gt=after.changed_at) | Q(changed_at=after.changed_at, pk__gt=after.pk))
    rows = list(queryset.order_by("changed_at", "pk")[: size + 1])
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    return rows[:size], Cursor(last.changed_at, last.pk).encode()
