from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "esms_numerique.accounts"
    verbose_name = "Comptes et rôles"

    def ready(self):
        from . import sessions, signals  # noqa: F401  (sign-ins are audited and start the idle clock)
