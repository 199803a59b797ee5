"""What each step says, in French: the e-mail's subject after « [ESMS numérique] REFERENCE : », its first paragraph
and the figures it shows. Whom a step concerns is the transition's own `notifies` (transitions as data); this
catalogue only words it. A step with `notifies` and no entry here gets a plain message from its label
(docs/decisions.md, D-NOTIFICATIONS)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from esms_numerique.ledger.models import Recovery
from esms_numerique.rules.money import format_eur

from .enums import Kind

Details = Callable[[Any], list[tuple[str, str]]]


@dataclass(frozen=True)
class Event:
    kind: Kind
    subject: str
    lead: str
    details: Details | None = None
    # A receipt for the side that took the step (the porteur who files): (subject, lead), sent to `receipt_to`.
    receipt: tuple[str, str] | None = None
    receipt_to: str = "porteur"


def _filed(dossier) -> list[tuple[str, str]]:
    result = dossier.filed_result or {}
    rows = [("Montant calculé au dépôt (figé)", format_eur(result.get("total_eur")))]
    rows.append(("ESSMS de la grappe", str(result.get("essms_count") or len(result.get("essms", [])))))
    rows.append(("Guichet", desk_label(dossier)))
    return rows


def _engaged(dossier) -> list[tuple[str, str]]:
    return [("Montant engagé", format_eur(dossier.engaged_eur))]


def _advance(dossier) -> list[tuple[str, str]]:
    return [("Avance versée", format_eur(dossier.advance_paid_eur))]


def _balance(dossier) -> list[tuple[str, str]]:
    return [("Solde versé", format_eur(dossier.balance_paid_eur))]


def _recoveries(dossier) -> list[tuple[str, str]]:
    open_ = [r.amount_eur for r in dossier.recoveries.all() if r.state == Recovery.State.ISSUED]
    return [("Montant à reverser", format_eur(sum(open_)))] if open_ else []


def _order(order) -> list[tuple[str, str]]:
    result = order.result or {}
    return [
        ("Solution", str(order.solution)),
        ("ESSMS commandés", str(order.items.count())),
        ("Montant de la commande", format_eur(result.get("total_eur"))),
    ]


def _order_recovery(order) -> list[tuple[str, str]]:
    return [("Avance à recouvrer", format_eur(order.recovery_eur))] if order.recovery_eur else []


def desk_label(dossier) -> str:
    if dossier.desk == "national":
        return "national (CNSA/DNS)"
    from esms_numerique.rules.geography import geography

    return f"régional (ARS {geography().region_name(dossier.pivot_region)})"


DOSSIER = {
    "deposer": Event(
        Kind.DEPOT,
        "nouveau dossier déposé",
        "Le dossier {reference} « {title} » de {porteur} vient d'être déposé. Il attend votre instruction.",
        _filed,
        receipt=(
            "accusé de réception du dépôt",
            "Votre dossier {reference} « {title} » est déposé. Son résultat est figé à la date du dépôt : c'est "
            "lui que l'instructeur examine.",
        ),
    ),
    "demander_complement": Event(
        Kind.COMPLEMENT,
        "complément demandé",
        "L'instructeur demande un complément au dossier {reference} « {title} ». Complétez la grappe ou les "
        "pièces, puis transmettez le complément depuis la page du dossier.",
    ),
    "completer": Event(
        Kind.COMPLEMENT,
        "complément transmis",
        "{porteur} a transmis le complément demandé pour le dossier {reference} « {title} ».",
    ),
    "declarer_recevable": Event(
        Kind.RECEVABILITE,
        "dossier recevable",
        "Le dossier {reference} « {title} » est déclaré recevable ; son instruction va commencer.",
    ),
    "declarer_non_recevable": Event(
        Kind.RECEVABILITE, "dossier non recevable", "Le dossier {reference} « {title} » est déclaré non recevable."
    ),
    "retenir": Event(
        Kind.DECISION,
        "projet retenu",
        "Le comité de sélection a retenu le projet {reference} « {title} ».",
        _engaged,
    ),
    "ne_pas_retenir": Event(
        Kind.DECISION,
        "projet non retenu",
        "Le comité de sélection n'a pas retenu le projet {reference} « {title} ».",
    ),
    "engager": Event(
        Kind.CONVENTION,
        "montant engagé",
        "Le montant du projet {reference} « {title} » est engagé ; la convention suit.",
        _engaged,
    ),
    "signer_convention": Event(
        Kind.CONVENTION,
        "convention signée",
        "La convention du projet {reference} « {title} » est enregistrée comme signée : l'avance se demande "
        "depuis la page du dossier.",
    ),
    "demander_avance": Event(
        Kind.PAIEMENT,
        "avance demandée",
        "{porteur} demande l'avance du projet {reference} « {title} » : la demande attend votre approbation.",
    ),
    "verser_avance": Event(Kind.PAIEMENT, "avance versée", "L'avance du projet {reference} est versée.", _advance),
    "refuser_avance": Event(
        Kind.PAIEMENT, "demande d'avance refusée", "La demande d'avance du projet {reference} est refusée."
    ),
    "enregistrer_cibles": Event(
        Kind.PAIEMENT,
        "cibles d'usage enregistrées",
        "Les cibles d'usage du projet {reference} sont enregistrées comme atteintes : le solde se demande depuis "
        "la page du dossier, avec l'état récapitulatif des dépenses visé.",
    ),
    "demander_solde": Event(
        Kind.PAIEMENT,
        "solde demandé",
        "{porteur} demande le solde du projet {reference} « {title} » : la demande attend votre approbation.",
    ),
    "verser_solde": Event(Kind.PAIEMENT, "solde versé", "Le solde du projet {reference} est versé.", _balance),
    "refuser_solde": Event(
        Kind.PAIEMENT, "demande de solde refusée", "La demande de solde du projet {reference} est refusée."
    ),
    "desister": Event(Kind.FIN, "désistement du porteur", "{porteur} se désiste du dossier {reference} « {title} »."),
    "classer_sans_suite": Event(
        Kind.FIN, "dossier classé sans suite", "Le dossier {reference} « {title} » est classé sans suite."
    ),
    "abandonner": Event(
        Kind.REVERSEMENT,
        "abandon et ordre de reversement",
        "L'abandon du projet {reference} « {title} » est constaté ; un ordre de reversement est émis pour ce qui "
        "a été versé.",
        _recoveries,
    ),
}

ORDER = {
    # Not a transition: the order's creation (sons.services.sign_order).
    "enregistrer": Event(
        Kind.COMMANDE,
        "commande enregistrée",
        "{editor} a enregistré la commande {reference} de Prestation Ségur signée le {ordered_on} par {og}.",
        _order,
    ),
    "demander_avance": Event(
        Kind.COMMANDE, "avance demandée", "{editor} demande l'avance de la commande {reference} ({og})."
    ),
    "verser_avance": Event(Kind.COMMANDE, "avance versée", "L'avance de la commande {reference} ({og}) est versée."),
    "declarer_prestation": Event(
        Kind.COMMANDE,
        "VA à signer",
        "{editor} déclare réalisée la prestation de la commande {reference} : remplissez et signez la "
        "vérification d'aptitude (VA) depuis la page de la commande.",
    ),
    "signer_va": Event(
        Kind.COMMANDE,
        "VA signée",
        "{og} a signé la VA de la commande {reference} : le solde se demande si elle ne porte aucun « non ».",
    ),
    "demander_solde": Event(
        Kind.COMMANDE, "solde demandé", "{editor} demande le solde de la commande {reference} ({og})."
    ),
    "verser_solde": Event(Kind.COMMANDE, "solde versé", "Le solde de la commande {reference} ({og}) est versé."),
    "annuler": Event(
        Kind.COMMANDE,
        "commande annulée",
        "La commande {reference} ({og}) est annulée par attestation ; ses ESSMS sont libérés.",
        _order_recovery,
    ),
}

REMINDERS = {
    "complement": Event(
        Kind.RAPPEL,
        "complément attendu",
        "Un complément a été demandé le {since} pour le dossier {reference} « {title} » et n'est pas encore "
        "transmis ({days} jours).",
    ),
    "fin_deploiement": Event(
        Kind.RAPPEL,
        "fin de déploiement le {due}",
        "Le déploiement du projet {reference} « {title} » doit s'achever le {due} (F-PAY) et ses cibles d'usage "
        "ne sont pas encore enregistrées. Une prolongation se demande à l'ARS, avec un motif.",
    ),
    "sons_preuves": Event(
        Kind.RAPPEL,
        "preuves à déposer à l'ANS avant le {due}",
        "La solution {solution} de la commande {reference} ({og}) n'est pas encore référencée : le dossier "
        "complet de preuves doit parvenir à l'ANS avant le {due}, 120 jours après la commande (S-PENDING), faute "
        "de quoi la commande est en risque d'annulation.",
    ),
    "mesure": Event(
        Kind.RAPPEL,
        "mesure d'usage attendue",
        "Aucune mesure d'usage n'est déposée depuis le {since} pour le projet {reference} « {title} » : déposez le "
        "résultat de « esms indicateurs calculer » sur la page du dossier (cibles U-*, préalable au solde).",
    ),
    "sons_calendrier": Event(
        Kind.RAPPEL,
        "demande {what} jusqu'au {due}",
        "Le couloir {couloir} reçoit la demande {what} de la commande {reference} ({og}) jusqu'au {due} (S-CALENDAR).",
    ),
}


def for_step(workflow_name: str, transition) -> Event:
    """The wording of a step; a plain one, from the transition's label, for a step the catalogue does not word."""
    catalogue = {"dossier": DOSSIER, "commande SONS": ORDER}.get(workflow_name, {})
    return catalogue.get(transition.name) or Event(
        Kind.AUTRE,
        transition.label[:1].lower() + transition.label[1:],
        f"« {transition.label} » : {{reference}} est maintenant « {{state}} ».",
    )
