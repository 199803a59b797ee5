from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "esms_numerique.jobs"
    verbose_name = "Travaux en arrière-plan"
