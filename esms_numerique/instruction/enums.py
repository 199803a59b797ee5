from django.db import models


class ExpertKind(models.TextChoices):
    """Who gives an opinion on a dossier when an instructor asks (Démarches Simplifiées' « avis d'expert »)."""

    GRADES = "grades", "GRADeS"
    COLLECTIF_SI = "collectif_si", "Collectif SI"
    DEPARTEMENT = "conseil_departemental", "Conseil départemental"
    OTHER = "autre", "Autre expert"
