from django.apps import AppConfig


class SonsConfig(AppConfig):
    name = "esms_numerique.sons"
    verbose_name = "SONS — Prestation Ségur"

    def ready(self) -> None:
        from . import services  # noqa: F401  (registers the order lifecycle's guards and effects)
