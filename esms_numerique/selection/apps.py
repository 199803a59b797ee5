from django.apps import AppConfig


class SelectionConfig(AppConfig):
    name = "esms_numerique.selection"
    verbose_name = "Sélection sous enveloppe (AAP24 §6)"
