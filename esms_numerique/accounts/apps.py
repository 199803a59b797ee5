from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "esms_numerique.accounts"
    verbose_name = "Comptes et rôles"
