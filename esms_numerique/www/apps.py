from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "esms_numerique.www"
    verbose_name = "Pages du site"
