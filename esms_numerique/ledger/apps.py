from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "esms_numerique.ledger"
    verbose_name = "Registre des ESSMS financés"
