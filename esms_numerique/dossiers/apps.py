from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "esms_numerique.dossiers"
    verbose_name = "Dossiers ESMS numérique"

    def ready(self) -> None:
        from . import transitions  # noqa: F401  (registers the lifecycle's guards and effects)
