from django.contrib import admin

from esms_numerique.audit.admin import ReadOnlyAdmin

from .models import Committee, Dossier


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    """Read-only: dossiers change through the platform's services, which check, log and audit."""

    list_display = ["reference", "title", "porteur", "state", "desk", "pivot_region"]
    list_filter = ["state", "desk", "campaign", "pivot_region"]
    search_fields = ["reference", "title", "porteur__finess_ej"]


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    list_display = ["label", "date", "cutoff_date", "region"]

    def has_change_permission(self, request, obj=None):
        return False
