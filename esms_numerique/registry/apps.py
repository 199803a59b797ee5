from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "esms_numerique.registry"
    verbose_name = "Répertoire FINESS"
