from django.db import models


class Kind(models.TextChoices):
    """What a message is about: each user chooses, per kind, to receive it at once or in the daily digest."""

    DEPOT = "depot", "Dépôt d'un dossier"
    COMPLEMENT = "complement", "Compléments demandés et transmis"
    RECEVABILITE = "recevabilite", "Recevabilité"
    DECISION = "decision", "Décision du comité de sélection"
    CONVENTION = "convention", "Engagement et convention"
    PAIEMENT = "paiement", "Demandes de paiement, versements et cibles d'usage"
    REVERSEMENT = "reversement", "Abandon et ordre de reversement"
    FIN = "fin", "Désistement et classement sans suite"
    COMMANDE = "commande", "Commandes SONS"
    RAPPEL = "rappel", "Rappels d'échéance"
    RECAPITULATIF = "recapitulatif", "Récapitulatif quotidien"
    AUTRE = "autre", "Autres changements"


class Mode(models.TextChoices):
    IMMEDIATE = "immediat", "À chaque événement"
    DIGEST = "quotidien", "Dans le récapitulatif quotidien"


class Status(models.TextChoices):
    PENDING = "a_envoyer", "À envoyer"
    SENT = "envoye", "Envoyé"
    FAILED = "echec", "Échec"
    GROUPED = "regroupe", "Regroupé dans un récapitulatif"
