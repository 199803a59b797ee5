from django.contrib import admin

from esms_numerique.audit.admin import AuditedAdmin, ReadOnlyAdmin

from .models import Assignment, Expert, ExpertOpinion, HandOver, InstructorGroup


@admin.register(InstructorGroup)
class InstructorGroupAdmin(AuditedAdmin):
    """The groupes instructeurs of each ARS, their members and the routing of new dossiers."""

    list_display = ["label", "region", "departments", "sectors"]
    list_filter = ["region"]
    search_fields = ["label", "departments", "sectors"]
    filter_horizontal = ["members"]


@admin.register(Expert)
class ExpertAdmin(AuditedAdmin):
    list_display = ["user", "organisation", "kind", "region"]
    list_filter = ["kind", "region"]
    search_fields = ["user__username", "user__last_name", "organisation"]
    raw_id_fields = ["user"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["at", "dossier", "group", "instructor", "assigned_by"]
    list_select_related = ["dossier", "group", "instructor", "assigned_by"]


@admin.register(HandOver)
class HandOverAdmin(ReadOnlyAdmin):
    list_display = ["at", "dossier", "from_region", "by"]


@admin.register(ExpertOpinion)
class ExpertOpinionAdmin(ReadOnlyAdmin):
    list_display = ["asked_at", "dossier", "expert", "asked_by", "answered_at"]
