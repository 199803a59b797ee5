from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from esms_numerique.audit.admin import AuditedAdmin
from esms_numerique.audit.services import record

from .models import Profile

admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(AuditedAdmin, UserAdmin):
    """Django's accounts admin, audited: a renamed, deactivated or deleted account changes what pages show (names in
    a dossier's history, its assignment's choices), and the pages kept under the audit log's last change are made
    again (D-DOSSIER-PAGE-CACHE). A password's hash never goes to the log."""

    audit_key = "username"
    audit_hidden = ("password",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Roles decide what people see: every change is audited."""

    list_display = ["user", "role", "region", "legal_entity"]
    list_filter = ["role", "region"]
    raw_id_fields = ["legal_entity"]
    search_fields = ["user__username", "legal_entity__finess_ej"]

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            old = Profile.objects.get(pk=obj.pk)
            before = {"rôle": old.role, "région": old.region, "og": old.legal_entity_id}
        super().save_model(request, obj, form, change)
        record(
            request.user.get_username(),
            "change_role" if change else "grant_role",
            "Profile",
            obj.user.get_username(),
            before=before,
            after={"rôle": obj.role, "région": obj.region, "og": obj.legal_entity_id},
        )

    def delete_model(self, request, obj):
        record(
            request.user.get_username(),
            "revoke_role",
            "Profile",
            obj.user.get_username(),
            before={"rôle": obj.role, "région": obj.region, "og": obj.legal_entity_id},
        )
        super().delete_model(request, obj)
