from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db import transaction

from .models import AuditEntry
from .services import record


class ReadOnlyAdmin(admin.ModelAdmin):
    """Seen in the admin, never changed there: the rows change through the platform's services, which check, log
    and audit (or, for the audit log itself, never)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


class AuditedAdmin(admin.ModelAdmin):
    """Every change made in the admin (creation, edit, deletion, one by one or by the list's action) is audited, with
    the fields changed before and after (docs/decisions.md, D-AUDIT-KEY). `audit_key` names the row in the log."""

    audit_key = "pk"
    # Fields whose values never go to the log (a password's hash), though their change is recorded by name.
    audit_hidden: tuple[str, ...] = ()

    def _audit_id(self, obj) -> str:
        return str(getattr(obj, self.audit_key))

    def _values(self, obj, names) -> dict[str, Any]:
        fields = {f.name: f for f in obj._meta.concrete_fields}
        return {
            name: "(masqué)" if name in self.audit_hidden else _plain(fields[name].value_from_object(obj))
            for name in names
            if name in fields
        }

    def save_model(self, request, obj, form, change):
        names = [f.name for f in obj._meta.concrete_fields if not f.primary_key]
        changed = [name for name in form.changed_data if name in names] if change else names
        before = self._values(type(obj).objects.get(pk=obj.pk), changed) if change else None
        super().save_model(request, obj, form, change)
        if change and not changed:
            return
        action = f"admin_change:{obj._meta.model_name}" if change else f"admin_add:{obj._meta.model_name}"
        after = self._values(obj, changed)
        record(request.user.get_username(), action, type(obj).__name__, self._audit_id(obj), before=before, after=after)

    def _audit_deletion(self, request, obj) -> None:
        names = [f.name for f in obj._meta.concrete_fields if not f.primary_key]
        record(
            request.user.get_username(),
            f"admin_delete:{obj._meta.model_name}",
            type(obj).__name__,
            self._audit_id(obj),
            before=self._values(obj, names),
        )

    def delete_model(self, request, obj):
        self._audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # the list's action is not in a transaction of its own
            for obj in queryset:
                self._audit_deletion(request, obj)
            super().delete_queryset(request, queryset)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id", "version"]
    list_filter = ["action", "object_type", "version"]
    search_fields = ["object_id", "actor"]
