"""The lifecycle of a SONS order (S-FLOW, SONS23), as data: states, transitions and who takes them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class OrderState(models.TextChoices):
    SIGNEE = "commande_signee", "Commande signée"
    AVANCE_DEMANDEE = "avance_demandee", "Avance demandée"
    AVANCE_VERSEE = "avance_versee", "Avance versée"
    PRESTATION_REALISEE = "prestation_realisee", "Prestation réalisée"
    VA_SIGNEE = "va_signee", "VA signée"
    SOLDE_DEMANDE = "solde_demande", "Solde demandé"
    SOLDE_VERSE = "solde_verse", "Solde versé"
    CONTROLE = "controle", "Contrôlé"
    ANNULEE = "annulee", "Annulée"


class Actor(models.TextChoices):
    EDITEUR = "editeur", "Éditeur"
    OG = "og", "Organisme gestionnaire"
    PAYEUR = "payeur", "ASP / instruction nationale"


@dataclass(frozen=True)
class OrderTransition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    actors: frozenset[str]


S = OrderState
BEFORE_BALANCE = frozenset({S.SIGNEE, S.AVANCE_DEMANDEE, S.AVANCE_VERSEE, S.PRESTATION_REALISEE, S.VA_SIGNEE})
ORDER_TRANSITIONS = [
    OrderTransition(
        "demander_avance", "Demander l'avance", frozenset({S.SIGNEE}), S.AVANCE_DEMANDEE, frozenset({Actor.EDITEUR})
    ),
    OrderTransition(
        "verser_avance",
        "Enregistrer le versement de l'avance",
        frozenset({S.AVANCE_DEMANDEE}),
        S.AVANCE_VERSEE,
        frozenset({Actor.PAYEUR}),
    ),
    OrderTransition(
        "declarer_prestation",
        "Déclarer la prestation réalisée",
        frozenset({S.AVANCE_VERSEE}),
        S.PRESTATION_REALISEE,
        frozenset({Actor.EDITEUR}),
    ),
    OrderTransition(
        "signer_va", "Signer la VA", frozenset({S.PRESTATION_REALISEE}), S.VA_SIGNEE, frozenset({Actor.OG})
    ),
    OrderTransition(
        "demander_solde", "Demander le solde", frozenset({S.VA_SIGNEE}), S.SOLDE_DEMANDE, frozenset({Actor.EDITEUR})
    ),
    OrderTransition(
        "verser_solde",
        "Enregistrer le versement du solde",
        frozenset({S.SOLDE_DEMANDE}),
        S.SOLDE_VERSE,
        frozenset({Actor.PAYEUR}),
    ),
    OrderTransition(
        "controler",
        "Enregistrer le contrôle a posteriori",
        frozenset({S.SOLDE_VERSE}),
        S.CONTROLE,
        frozenset({Actor.PAYEUR}),
    ),
    OrderTransition(
        "annuler", "Annuler la commande (attestation)", BEFORE_BALANCE, S.ANNULEE, frozenset({Actor.OG, Actor.EDITEUR})
    ),
]
ORDER_BY_NAME = {t.name: t for t in ORDER_TRANSITIONS}
