from django.contrib import admin

from .models import Envelope, GridAssessment, Proposal


@admin.register(Envelope)
class EnvelopeAdmin(admin.ModelAdmin):
    """Read here; set from the envelopes page, where the change is audited."""

    list_display = ("campaign", "region", "amount_eur", "effective_on", "reference", "set_by", "set_at")
    list_filter = ("campaign", "region")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GridAssessment)
class GridAssessmentAdmin(admin.ModelAdmin):
    list_display = ("dossier", "points", "max_points", "updated_by", "updated_at")
    search_fields = ("dossier__reference",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ("committee", "status", "total_eur", "created_by", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
