from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "esms_numerique.indicators"
    verbose_name = "Indicateurs d'usage"

    def ready(self) -> None:
        from esms_numerique.dossiers.changes import grappe_changed

        from . import guards  # noqa: F401  (registers the usage-target guard on the dossier workflow)
        from .summary import on_grappe_changed

        # The follow-up's summary follows a retained grappe's change, in its transaction (D-FOLLOW-UP-SUMMARY).
        grappe_changed.connect(on_grappe_changed, dispatch_uid="indicators.grappe_changed")
