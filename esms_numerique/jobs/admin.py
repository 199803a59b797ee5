from django.contrib import admin, messages

from esms_numerique.audit.admin import ReadOnlyAdmin

from .models import Job
from .services import requeue


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Every job: who asked what, how far it went, its error. One left waiting or cut short by a killed worker can
    be queued again (DECISION D-JOBS (docs/decisions.md))."""

    list_display = ["created_at", "label", "kind", "owner", "status", "progress", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["label", "owner__username", "error"]
    date_hierarchy = "created_at"
    actions = ["run_again"]

    @admin.action(description="Relancer (travaux en attente ou interrompus)")
    def run_again(self, request, queryset):
        count = sum(requeue(job) for job in queryset)
        self.message_user(request, f"{count} travail(s) remis en file.", messages.SUCCESS)
