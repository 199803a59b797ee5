from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "esms_numerique.www"
    verbose_name = "Pages du site"

    def ready(self) -> None:
        # A malformed parameter file must stop the platform at start-up, not at the first simulation.
        from esms_numerique.rules.geography import geography
        from esms_numerique.rules.parameters import default_tree

        geography(default_tree())
