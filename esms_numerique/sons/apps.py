from django.apps import AppConfig


class SonsConfig(AppConfig):
    name = "esms_numerique.sons"
    verbose_name = "SONS — Prestation Ségur"
