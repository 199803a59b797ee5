from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "esms_numerique.indicators"
    verbose_name = "Indicateurs d'usage"

    def ready(self) -> None:
        from . import guards  # noqa: F401  (registers the usage-target guard on the dossier workflow)
