from django.db import models


class Role(models.TextChoices):
    PORTEUR = "porteur", "Porteur / organisme gestionnaire"
    ARS = "instructeur_ars", "Instructeur ARS"
    NATIONAL = "instructeur_national", "Instructeur national (CNSA/DNS)"
    OBSERVER = "observateur", "GRADeS / collectif SI (lecture)"
    EDITEUR = "editeur", "Éditeur (SONS)"
    ADMIN = "administrateur", "Administrateur"
