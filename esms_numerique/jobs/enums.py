from django.db import models


class Kind(models.TextChoices):
    REGISTRY_IMPORT = "import_finess", "Import d'une extraction FINESS"
    DOSSIER_BUNDLE = "dossier_zip", "Dossier complet (ZIP)"
    DOSSIER_EXPORT = "export_dossiers", "Export des dossiers"


class Status(models.TextChoices):
    PENDING = "en_attente", "En attente"
    RUNNING = "en_cours", "En cours"
    DONE = "termine", "Terminé"
    FAILED = "echec", "Échec"


OPEN = (Status.PENDING, Status.RUNNING)
