from django.contrib import admin

from esms_numerique.audit.admin import AuditedAdmin

from .models import Establishment, LegalEntity, Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["snapshot_date", "kind", "source_name", "added", "changed", "closed", "imported_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LegalEntity)
class LegalEntityAdmin(AuditedAdmin):
    """The rules read the registry: an edit here is audited (D-AUDIT-KEY)."""

    audit_key = "finess_ej"
    list_display = ["finess_ej", "name", "department", "region", "from_ej_extract"]
    list_filter = ["region", "from_ej_extract"]
    search_fields = ["finess_ej", "name", "siren"]


@admin.register(Establishment)
class EstablishmentAdmin(AuditedAdmin):
    """The rules read the sector, the category and the OG: an edit here is audited (D-AUDIT-KEY)."""

    audit_key = "finess_et"
    list_display = ["finess_et", "name", "category", "sector", "sector_override", "department", "region"]
    list_filter = ["region", "sector", "category"]
    search_fields = ["finess_et", "name", "legal_entity__finess_ej", "legal_entity__name"]
    raw_id_fields = ["legal_entity"]
    # Sector corrections go through the audited service (registry page), not through the admin.
    readonly_fields = ["sector_override", "sector_override_reason", "first_snapshot", "closed_snapshot"]
