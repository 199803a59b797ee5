"""The partners' tokens, webhooks and deliveries, read by the administrators (changes go through the user's page,
the CLI and the API, which audit them: DECISION D-API-TOKENS, D-WEBHOOKS)."""

from django.contrib import admin

from esms_numerique.audit.admin import ReadOnlyAdmin

from .models import ApiToken, Delivery, Webhook


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "user", "name", "scope", "expires_on", "revoked_at", "last_used_at", "created_at"]
    list_filter = ["scope"]
    search_fields = ["user__username", "prefix", "name"]
    exclude = ["digest"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["url", "user", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["user__username", "url"]
    exclude = ["secret"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "reference", "webhook", "state", "attempts", "last_status"]
    list_filter = ["state", "event"]
    search_fields = ["reference", "delivery_id", "webhook__url"]
