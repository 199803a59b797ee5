from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "esms_numerique.audit"
    verbose_name = "Journal d'audit"
