from django.contrib import admin

from .models import Editor, Order, Solution


@admin.register(Editor)
class EditorAdmin(admin.ModelAdmin):
    list_display = ["name", "siret"]
    search_fields = ["name", "siret"]


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "editor", "couloir", "referencing", "proof_sent_on", "referenced_on"]
    list_filter = ["couloir", "referencing"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: orders change through the platform's services, which check, log and audit."""

    list_display = ["reference", "og", "solution", "ordered_on", "state"]
    list_filter = ["state"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
