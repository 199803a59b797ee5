from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "esms_numerique.workflow"
    verbose_name = "Cycles de vie (dossiers et commandes)"
