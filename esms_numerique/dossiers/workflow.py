"""The dossier lifecycle as data: which transition leads from which states to which, who may take it, the inputs
it asks for, the guards that must hold and the effect it has. The guards and effects are registered by name
(dossiers/transitions.py; the usage-target guard by the indicators app)."""

from __future__ import annotations

from esms_numerique.accounts.enums import Role
from esms_numerique.workflow.engine import COMMENT, DATE, Input, Refusal, Transition, Workflow

from .enums import State


class DossierError(Refusal):
    """A change the rules refuse; the message is French and says why."""


class StaleDossier(DossierError):
    pass


INSTRUCTORS = frozenset({Role.ARS, Role.NATIONAL})
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
    Transition("declarer_recevable", "Déclarer recevable", frozenset({S.DEPOSE, S.COMPLETE}), S.RECEVABLE, INSTRUCTORS),
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
        committee_only=True,
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
        committee_only=True,
        notifies=("porteur",),
    ),
    Transition(
        "ne_pas_retenir",
        "Ne pas retenir le projet",
        frozenset({S.PRESENTE_COMITE}),
        S.NON_RETENU,
        INSTRUCTORS,
        inputs=(COMMENT,),
        committee_only=True,
        danger=True,
        notifies=("porteur",),
    ),
    Transition(
        "engager",
        "Engager le montant",
        frozenset({S.RETENU}),
        S.ENGAGE,
        INSTRUCTORS,
        guards=("no_double_funding",),
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
        "verser_avance",
        "Enregistrer le versement de l'avance",
        frozenset({S.CONVENTION_SIGNEE}),
        S.AVANCE_VERSEE,
        INSTRUCTORS,
        inputs=(Input("date", "Avance versée le", "date", help="Aujourd'hui si vide."),),
        effect="pay_advance",
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
        "verser_solde",
        "Enregistrer le versement du solde",
        frozenset({S.CIBLES_MESUREES}),
        S.SOLDE_VERSE,
        INSTRUCTORS,
        inputs=(DATE, EXPENSES),
        guards=("targets_recorded",),
        effect="pay_balance",
        notifies=("porteur",),
    ),
    Transition(
        "clore",
        "Clore le dossier",
        frozenset({S.SOLDE_VERSE, S.NON_RETENU, S.NON_RECEVABLE}),
        S.CLOS,
        INSTRUCTORS,
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
        S.AVANCE_VERSEE,
        S.EN_DEPLOIEMENT,
        S.CIBLES_MESUREES,
        S.SOLDE_VERSE,
        S.CLOS,
    }
)
PAID = frozenset({S.AVANCE_VERSEE, S.EN_DEPLOIEMENT, S.CIBLES_MESUREES, S.SOLDE_VERSE})


def transitions_from(state: State) -> list[Transition]:
    return WORKFLOW.from_state(state)
