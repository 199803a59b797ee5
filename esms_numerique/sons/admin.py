from django.contrib import admin

from esms_numerique.audit.admin import AuditedAdmin, ReadOnlyAdmin

from .models import Editor, Order, Solution


@admin.register(Editor)
class EditorAdmin(AuditedAdmin):
    list_display = ["name", "siret"]
    search_fields = ["name", "siret"]


@admin.register(Solution)
class SolutionAdmin(AuditedAdmin):
    """The referencing decides S-ELIG and the 120 days of S-PENDING: an edit here is audited (D-AUDIT-KEY)."""

    list_display = ["name", "version", "editor", "couloir", "referencing", "proof_sent_on", "referenced_on"]
    list_filter = ["couloir", "referencing"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Read-only: orders change through the platform's services, which check, log and audit."""

    list_display = ["reference", "og", "solution", "ordered_on", "state"]
    list_filter = ["state"]
