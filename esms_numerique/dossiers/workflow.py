"""The dossier lifecycle as data: which transition leads from which states to which, who may take it, the inputs
it asks for, the guards that must hold and the effect it has. The guards and effects are registered by name
(dossiers/transitions.py; the usage-target guard by the indicators app)."""

from __future__ import annotations

from esms_numerique.accounts.enums import Role
from esms_numerique.workflow.engine import COMMENT, Input, Refusal, StaleSubject, Transition, Workflow

from .enums import State


class DossierError(Refusal):
    """A change the rules refuse; the message is French and says why."""


class StaleDossier(DossierError, StaleSubject):
    """Changed by someone else since it was read (the version a page or an API call sent is no longer current)."""


INSTRUCTORS = frozenset({Role.ARS, Role.NATIONAL})
# A porteur may withdraw, an instructor file without follow-up, until money is paid (then: abandon and recovery).
BEFORE_PAYMENT = frozenset(
    {
        State.DEPOSE,
        State.COMPLEMENT_DEMANDE,
        State.COMPLETE,
        State.RECEVABLE,
        State.EN_INSTRUCTION,
        State.PRESENTE_COMITE,
        State.RETENU,
        State.ENGAGE,
        State.CONVENTION_SIGNEE,
        State.AVANCE_DEMANDEE,
    }
)
PORTEUR = frozenset({Role.PORTEUR})
S = State
EXPENSES = Input(
    "expenses_statement",
    "État récapitulatif des dépenses visé par le comptable public ou le commissaire aux comptes reçu",
    "checkbox",
    required=True,
    demand=("l'état récapitulatif des dépenses visé par le comptable public ou le commissaire aux comptes (F-PAY)"),
)
TRANSITIONS = [
    Transition(
        "deposer",
        "Déposer le dossier",
        frozenset({S.BROUILLON}),
        S.DEPOSE,
        PORTEUR,
        guards=("filing_admissible",),
        effect="file",
        notifies=("instructeurs",),
    ),
    Transition(
        "demander_complement",
        "Demander un complément",
        frozenset({S.DEPOSE, S.COMPLETE, S.EN_INSTRUCTION}),
        S.COMPLEMENT_DEMANDE,
        INSTRUCTORS,
        inputs=(COMMENT,),
        notifies=("porteur",),
    ),
    Transition(
        "completer",
        "Transmettre le complément",
        frozenset({S.COMPLEMENT_DEMANDE}),
        S.COMPLETE,
        PORTEUR,
        guards=("complement_admissible",),
        effect="complete",
        notifies=("instructeurs",),
    ),
    Transition(
        "declarer_recevable",
        "Déclarer recevable",
        frozenset({S.DEPOSE, S.COMPLETE}),
        S.RECEVABLE,
        INSTRUCTORS,
        notifies=("porteur",),
    ),
    Transition(
        "declarer_non_recevable",
        "Déclarer non recevable",
        frozenset({S.DEPOSE, S.COMPLETE}),
        S.NON_RECEVABLE,
        INSTRUCTORS,
        inputs=(COMMENT,),
        danger=True,
        notifies=("porteur",),
    ),
    Transition("instruire", "Ouvrir l'instruction", frozenset({S.RECEVABLE}), S.EN_INSTRUCTION, INSTRUCTORS),
    Transition(
        "inscrire_comite",
        "Inscrire en comité",
        frozenset({S.EN_INSTRUCTION}),
        S.PRESENTE_COMITE,
        INSTRUCTORS,
        inputs=(Input("comment", "Comité", "text"),),
        via="comite",
    ),
    Transition(
        "retenir",
        "Retenir le projet",
        frozenset({S.PRESENTE_COMITE}),
        S.RETENU,
        INSTRUCTORS,
        inputs=(COMMENT,),
        guards=("no_double_funding",),
        effect="retain",
        via="comite",
        notifies=("porteur",),
    ),
    Transition(
        "ne_pas_retenir",
        "Ne pas retenir le projet",
        frozenset({S.PRESENTE_COMITE}),
        S.NON_RETENU,
        INSTRUCTORS,
        inputs=(COMMENT,),
        via="comite",
        danger=True,
        notifies=("porteur",),
    ),
    Transition(
        "engager",
        "Engager le montant",
        frozenset({S.RETENU}),
        S.ENGAGE,
        INSTRUCTORS,
        inputs=(Input("engagement_reference", "Référence de l'engagement (Chorus)", "text"),),
        guards=("no_double_funding",),
        effect="engage",
        notifies=("porteur",),
    ),
    Transition(
        "signer_convention",
        "Enregistrer la convention signée",
        frozenset({S.ENGAGE}),
        S.CONVENTION_SIGNEE,
        INSTRUCTORS,
        inputs=(Input("date", "Convention signée le", "date", help="Aujourd'hui si vide."),),
        effect="sign_convention",
        notifies=("porteur",),
    ),
    Transition(
        "demander_avance",
        "Demander l'avance",
        frozenset({S.CONVENTION_SIGNEE}),
        S.AVANCE_DEMANDEE,
        PORTEUR,
        then="request_advance",
        notifies=("instructeurs",),
    ),
    Transition(
        "verser_avance",
        "Avance versée",
        frozenset({S.AVANCE_DEMANDEE}),
        S.AVANCE_VERSEE,
        INSTRUCTORS,
        effect="pay_advance",
        via="paiement",
        notifies=("porteur",),
    ),
    Transition(
        "refuser_avance",
        "Demande d'avance refusée",
        frozenset({S.AVANCE_DEMANDEE}),
        S.CONVENTION_SIGNEE,
        INSTRUCTORS,
        inputs=(COMMENT,),
        via="paiement",
        notifies=("porteur",),
    ),
    Transition(
        "demarrer_deploiement",
        "Déclarer le début du déploiement",
        frozenset({S.AVANCE_VERSEE}),
        S.EN_DEPLOIEMENT,
        PORTEUR | INSTRUCTORS,
        inputs=(Input("date", "Déploiement commencé le", "date", help="Aujourd'hui si vide."),),
        effect="start_deployment",
    ),
    Transition(
        "enregistrer_cibles",
        "Enregistrer les cibles d'usage atteintes",
        frozenset({S.EN_DEPLOIEMENT}),
        S.CIBLES_MESUREES,
        INSTRUCTORS,
        guards=("usage_targets_met",),
        effect="usage_targets_met_on",
        notifies=("porteur",),
    ),
    Transition(
        "demander_solde",
        "Demander le solde",
        frozenset({S.CIBLES_MESUREES}),
        S.SOLDE_DEMANDE,
        PORTEUR,
        inputs=(
            EXPENSES,
            Input(
                "equipment_spent_eur", "Dépense réelle de matériel (€)", "amount", help="Si du matériel est financé."
            ),
            Input("amoa_spent_eur", "Dépense réelle d'AMOA (€)", "amount", help="Si une AMOA est financée."),
        ),
        guards=("targets_recorded",),
        then="request_balance",
        notifies=("instructeurs",),
    ),
    Transition(
        "verser_solde",
        "Solde versé",
        frozenset({S.SOLDE_DEMANDE}),
        S.SOLDE_VERSE,
        INSTRUCTORS,
        effect="pay_balance",
        via="paiement",
        notifies=("porteur",),
    ),
    Transition(
        "refuser_solde",
        "Demande de solde refusée",
        frozenset({S.SOLDE_DEMANDE}),
        S.CIBLES_MESUREES,
        INSTRUCTORS,
        inputs=(COMMENT,),
        via="paiement",
        notifies=("porteur",),
    ),
    Transition(
        "desister",
        "Se désister",
        BEFORE_PAYMENT,
        S.DESISTE,
        PORTEUR,
        inputs=(Input("comment", "Motif du désistement", "text", required=True, demand="un motif"),),
        danger=True,
        notifies=("instructeurs",),
    ),
    Transition(
        "classer_sans_suite",
        "Classer sans suite",
        BEFORE_PAYMENT,
        S.CLASSE_SANS_SUITE,
        INSTRUCTORS,
        inputs=(COMMENT,),
        danger=True,
        notifies=("porteur",),
    ),
    Transition(
        "abandonner",
        "Constater l'abandon et émettre l'ordre de reversement",
        frozenset({S.AVANCE_VERSEE, S.EN_DEPLOIEMENT, S.CIBLES_MESUREES, S.SOLDE_DEMANDE}),
        S.ABANDONNE,
        INSTRUCTORS,
        inputs=(COMMENT,),
        then="recover_paid",
        danger=True,
        notifies=("porteur",),
    ),
    Transition(
        "clore",
        "Clore le dossier",
        frozenset({S.SOLDE_VERSE, S.NON_RETENU, S.NON_RECEVABLE, S.DESISTE, S.CLASSE_SANS_SUITE, S.ABANDONNE}),
        S.CLOS,
        INSTRUCTORS,
        guards=("recoveries_settled",),
    ),
]
WORKFLOW = Workflow(
    "dossier",
    TRANSITIONS,
    subject_noun="le dossier",
    error=DossierError,
    stale=StaleDossier,
    stale_message=(
        "Le dossier a été modifié par quelqu'un d'autre depuis que vous l'avez ouvert : rechargez la page, "
        "vos changements n'ont pas été enregistrés."
    ),
)
BY_NAME = WORKFLOW.by_name

# States where the porteur may still change the grappe.
EDITABLE = frozenset({S.BROUILLON, S.COMPLEMENT_DEMANDE})
# From this state on, the amount engaged is frozen: a change is a new, audited version.
DECIDED = frozenset(
    {
        S.RETENU,
        S.ENGAGE,
        S.CONVENTION_SIGNEE,
        S.AVANCE_DEMANDEE,
        S.AVANCE_VERSEE,
        S.EN_DEPLOIEMENT,
        S.CIBLES_MESUREES,
        S.SOLDE_DEMANDE,
        S.SOLDE_VERSE,
        S.CLOS,
    }
)
# The states whose dossier has a deadline ahead (D-AFTER-DECISION; dossiers.changes.next_deadline): the commitment
# while retained, then the deployment's end from the convention until the balance is asked for. Engaged without a
# convention yet, a dossier has none; nor has an ended one.
WITH_DEADLINE = frozenset(
    {S.RETENU, S.CONVENTION_SIGNEE, S.AVANCE_DEMANDEE, S.AVANCE_VERSEE, S.EN_DEPLOIEMENT, S.CIBLES_MESUREES}
)
# From the decision until the balance is asked for: the grappe may still lose, swap or gain an ESSMS.
CHANGEABLE = WITH_DEADLINE | {S.ENGAGE}
PAID = frozenset({S.AVANCE_VERSEE, S.EN_DEPLOIEMENT, S.CIBLES_MESUREES, S.SOLDE_DEMANDE, S.SOLDE_VERSE})
ENDED = frozenset({S.DESISTE, S.CLASSE_SANS_SUITE, S.ABANDONNE})


def transitions_from(state: State) -> list[Transition]:
    return WORKFLOW.from_state(state)
