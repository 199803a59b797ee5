from django.db import models


class State(models.TextChoices):
    """SPEC §4 « Lifecycles », ESMS numérique project."""

    BROUILLON = "brouillon", "Brouillon"
    DEPOSE = "depose", "Déposé"
    COMPLEMENT_DEMANDE = "complement_demande", "Complément demandé"
    COMPLETE = "complete", "Complété"
    RECEVABLE = "recevable", "Recevable"
    NON_RECEVABLE = "non_recevable", "Non recevable"
    EN_INSTRUCTION = "en_instruction", "En instruction"
    PRESENTE_COMITE = "presente_comite", "Présenté en comité"
    RETENU = "retenu", "Retenu"
    NON_RETENU = "non_retenu", "Non retenu"
    ENGAGE = "engage", "Engagé"
    CONVENTION_SIGNEE = "convention_signee", "Convention signée"
    AVANCE_DEMANDEE = "avance_demandee", "Avance demandée"
    AVANCE_VERSEE = "avance_versee", "Avance versée"
    EN_DEPLOIEMENT = "en_deploiement", "En déploiement"
    CIBLES_MESUREES = "cibles_mesurees", "Cibles mesurées"
    SOLDE_DEMANDE = "solde_demande", "Solde demandé"
    SOLDE_VERSE = "solde_verse", "Solde versé"
    DESISTE = "desiste", "Désistement du porteur"
    CLASSE_SANS_SUITE = "classe_sans_suite", "Classé sans suite"
    ABANDONNE = "abandonne", "Abandonné après versement (reversement)"
    CLOS = "clos", "Clos"
