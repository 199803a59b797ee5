from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "esms_numerique.dossiers"
    verbose_name = "Dossiers ESMS numérique"

    def ready(self) -> None:
        from . import payments, transitions  # noqa: F401  (register the lifecycles' guards and effects)
