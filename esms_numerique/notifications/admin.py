from django.contrib import admin, messages

from esms_numerique.audit.admin import ReadOnlyAdmin

from .enums import Status
from .models import Follow, Notification, NotificationPreference
from .services import enqueue_send


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Every e-mail: who, what, when, its state and its last error. A failed one can be tried again."""

    list_display = ["created_at", "email", "subject", "kind", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", "digest"]
    search_fields = ["email", "reference", "subject", "event_key"]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.action(description="Envoyer à nouveau (courriels en échec ou à envoyer)")
    def send_again(self, request, queryset):
        rows = list(queryset.filter(status__in=(Status.FAILED, Status.PENDING), digest=False).exclude(email=""))
        for row in rows:
            Notification.objects.filter(pk=row.pk).update(status=Status.PENDING, attempts=0, next_attempt_at=None)
            enqueue_send(row.pk)
        self.message_user(request, f"{len(rows)} courriel(s) remis à l'envoi.", messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "mode"]
    list_filter = ["kind", "mode"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ["user", "dossier", "following", "at"]
    list_filter = ["following"]
    search_fields = ["user__username", "dossier__reference"]
