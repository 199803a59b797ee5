"""The dossier lifecycle as data: which transition leads from which states to which, and who may take it.

Guards that depend on the dossier (no blocking finding at filing, targets met before the balance…) live in
services.py, next to the state change they protect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .enums import Role, State

INSTRUCTORS = frozenset({Role.ARS, Role.NATIONAL})
PORTEUR = frozenset({Role.PORTEUR})


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[State]
    target: State
    roles: frozenset[Role]
    needs_comment: bool = False
    committee_only: bool = False  # taken from a selection committee's agenda (committees.py), not directly
    committee_only: bool = False  # taken from a selection committee's agenda (committees.py), not directly


TRANSITIONS = [
    Transition("deposer", "Déposer le dossier", frozenset({State.BROUILLON}), State.DEPOSE, PORTEUR),
    Transition(
        "demander_complement",
        "Demander un complément",
        frozenset({State.DEPOSE, State.COMPLETE, State.EN_INSTRUCTION}),
        State.COMPLEMENT_DEMANDE,
        INSTRUCTORS,
        needs_comment=True,
    ),
    Transition(
        "completer", "Transmettre le complément", frozenset({State.COMPLEMENT_DEMANDE}), State.COMPLETE, PORTEUR
    ),
    Transition(
        "declarer_recevable",
        "Déclarer recevable",
        frozenset({State.DEPOSE, State.COMPLETE}),
        State.RECEVABLE,
        INSTRUCTORS,
    ),
    Transition(
        "declarer_non_recevable",
        "Déclarer non recevable",
        frozenset({State.DEPOSE, State.COMPLETE}),
        State.NON_RECEVABLE,
        INSTRUCTORS,
        needs_comment=True,
    ),
    Transition("instruire", "Ouvrir l'instruction", frozenset({State.RECEVABLE}), State.EN_INSTRUCTION, INSTRUCTORS),
    Transition(
        "inscrire_comite",
        "Inscrire en comité",
        frozenset({State.EN_INSTRUCTION}),
        State.PRESENTE_COMITE,
        INSTRUCTORS,
        committee_only=True,
    ),
    Transition(
        "retenir",
        "Retenir le projet",
        frozenset({State.PRESENTE_COMITE}),
        State.RETENU,
        INSTRUCTORS,
        needs_comment=True,
        committee_only=True,
    ),
    Transition(
        "ne_pas_retenir",
        "Ne pas retenir le projet",
        frozenset({State.PRESENTE_COMITE}),
        State.NON_RETENU,
        INSTRUCTORS,
        needs_comment=True,
        committee_only=True,
    ),
    Transition("engager", "Engager le montant", frozenset({State.RETENU}), State.ENGAGE, INSTRUCTORS),
    Transition(
        "signer_convention",
        "Enregistrer la convention signée",
        frozenset({State.ENGAGE}),
        State.CONVENTION_SIGNEE,
        INSTRUCTORS,
    ),
    Transition(
        "verser_avance",
        "Enregistrer le versement de l'avance",
        frozenset({State.CONVENTION_SIGNEE}),
        State.AVANCE_VERSEE,
        INSTRUCTORS,
    ),
    Transition(
        "demarrer_deploiement",
        "Déclarer le début du déploiement",
        frozenset({State.AVANCE_VERSEE}),
        State.EN_DEPLOIEMENT,
        PORTEUR | INSTRUCTORS,
    ),
    Transition(
        "enregistrer_cibles",
        "Enregistrer les cibles d'usage atteintes",
        frozenset({State.EN_DEPLOIEMENT}),
        State.CIBLES_MESUREES,
        INSTRUCTORS,
    ),
    Transition(
        "verser_solde",
        "Enregistrer le versement du solde",
        frozenset({State.CIBLES_MESUREES}),
        State.SOLDE_VERSE,
        INSTRUCTORS,
    ),
    Transition(
        "clore",
        "Clore le dossier",
        frozenset({State.SOLDE_VERSE, State.NON_RETENU, State.NON_RECEVABLE}),
        State.CLOS,
        INSTRUCTORS,
    ),
]
BY_NAME = {t.name: t for t in TRANSITIONS}

# States where the porteur may still change the grappe.
EDITABLE = frozenset({State.BROUILLON, State.COMPLEMENT_DEMANDE})
# From this state on, the amount engaged is frozen: a change is a new, audited version.
DECIDED = frozenset(
    {
        State.RETENU,
        State.ENGAGE,
        State.CONVENTION_SIGNEE,
        State.AVANCE_VERSEE,
        State.EN_DEPLOIEMENT,
        State.CIBLES_MESUREES,
        State.SOLDE_VERSE,
        State.CLOS,
    }
)


def transitions_from(state: State) -> list[Transition]:
    return [t for t in TRANSITIONS if state in t.sources]
