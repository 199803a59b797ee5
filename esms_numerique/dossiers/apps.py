from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "esms_numerique.dossiers"
    verbose_name = "Dossiers ESMS numérique"
