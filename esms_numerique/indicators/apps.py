from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "esms_numerique.indicators"
    verbose_name = "Indicateurs d'usage"
