"""The lifecycle of a SONS order (S-FLOW, SONS23), as data: states, transitions, who takes them, the inputs they
ask for and the guards and effects they name (registered in sons/services.py)."""

from __future__ import annotations

from django.db import models

from esms_numerique.workflow.engine import Input, Refusal, StaleSubject, Transition, Workflow


class OrderError(Refusal):
    """A refusal in French that says what and where (FINESS)."""


class StaleOrder(OrderError, StaleSubject):
    """Changed by someone else since it was read."""


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


S = OrderState
BEFORE_BALANCE = frozenset({S.SIGNEE, S.AVANCE_DEMANDEE, S.AVANCE_VERSEE, S.PRESTATION_REALISEE, S.VA_SIGNEE})
ADVANCE_PAID = frozenset({S.AVANCE_VERSEE, S.PRESTATION_REALISEE, S.VA_SIGNEE, S.SOLDE_DEMANDE})
# The ASP pays; the national instructors record the payment's date and, when they have it, its reference.
PAYMENT_INPUTS = (
    Input("date", "Versé le", "date", help="Aujourd'hui si vide."),
    Input("payment_reference", "Référence du paiement (ASP)", "text"),
)
ATTESTATION = Input(
    "comment", "Motif de l'annulation (attestation)", "text", required=True, demand="le motif de l'attestation"
)
ORDER_TRANSITIONS = [
    Transition(
        "demander_avance",
        "Demander l'avance",
        frozenset({S.SIGNEE}),
        S.AVANCE_DEMANDEE,
        frozenset({Actor.EDITEUR}),
        guards=("advance_window",),
        notifies=("payeur",),
    ),
    Transition(
        "verser_avance",
        "Enregistrer le versement de l'avance",
        frozenset({S.AVANCE_DEMANDEE}),
        S.AVANCE_VERSEE,
        frozenset({Actor.PAYEUR}),
        inputs=PAYMENT_INPUTS,
        effect="pay_advance",
        notifies=("editeur",),
    ),
    Transition(
        "declarer_prestation",
        "Déclarer la prestation réalisée",
        frozenset({S.AVANCE_VERSEE}),
        S.PRESTATION_REALISEE,
        frozenset({Actor.EDITEUR}),
        notifies=("og",),
    ),
    Transition(
        "signer_va",
        "Signer la VA",
        frozenset({S.PRESTATION_REALISEE}),
        S.VA_SIGNEE,
        frozenset({Actor.OG}),
        guards=("va_answered",),
        effect="sign_va",
        notifies=("editeur",),
    ),
    Transition(
        "demander_solde",
        "Demander le solde",
        frozenset({S.VA_SIGNEE}),
        S.SOLDE_DEMANDE,
        frozenset({Actor.EDITEUR}),
        guards=("va_all_yes", "balance_window"),
        notifies=("payeur",),
    ),
    Transition(
        "verser_solde",
        "Enregistrer le versement du solde",
        frozenset({S.SOLDE_DEMANDE}),
        S.SOLDE_VERSE,
        frozenset({Actor.PAYEUR}),
        inputs=PAYMENT_INPUTS,
        effect="pay_balance",
        notifies=("editeur",),
    ),
    Transition(
        "controler",
        "Enregistrer le contrôle a posteriori",
        frozenset({S.SOLDE_VERSE}),
        S.CONTROLE,
        frozenset({Actor.PAYEUR}),
    ),
    Transition(
        "annuler",
        "Annuler la commande (attestation)",
        BEFORE_BALANCE,
        S.ANNULEE,
        frozenset({Actor.OG, Actor.EDITEUR}),
        inputs=(ATTESTATION,),
        effect="cancel",
        then="issue_recovery",
        danger=True,
        notifies=("editeur", "og", "payeur"),
    ),
]
WORKFLOW = Workflow(
    "commande SONS",
    ORDER_TRANSITIONS,
    subject_noun="la commande",
    error=OrderError,
    stale=StaleOrder,
    stale_message="La commande a été modifiée entre-temps : rechargez-la.",
)
ORDER_BY_NAME = WORKFLOW.by_name
