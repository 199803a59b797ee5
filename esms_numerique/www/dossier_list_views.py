"""The dossier list and its exports (issue 12): search, filters, tabs, sort and pagination in the query string."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import IntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.shortcuts import render

from esms_numerique import clock
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.changes import next_deadline
from esms_numerique.dossiers.enums import State
from esms_numerique.ledger.models import Recovery
from esms_numerique.rules.parameters import default_tree

from .exports import table_response

EXPORT_COLUMNS = [
    ("Référence", lambda d: d.reference),
    ("Intitulé", lambda d: d.title),
    ("Campagne", lambda d: d.campaign),
    ("Porteur (FINESS EJ)", lambda d: d.porteur.finess_ej),
    ("Porteur", lambda d: d.porteur.name),
    ("État", lambda d: d.state_label),
    ("Guichet", lambda d: d.desk),
    ("ARS pivot", lambda d: d.pivot_region),
    ("ESSMS", lambda d: (d.filed_result or d.result).get("essms_count")),
    ("Total (€)", lambda d: (d.filed_result or d.result).get("total_eur")),
    ("Montant engagé (€)", lambda d: d.engaged_eur),
    ("Avance versée (€)", lambda d: d.advance_paid_eur),
    ("Solde versé (€)", lambda d: d.balance_paid_eur),
    ("Déposé le", lambda d: d.filed_at.date().isoformat() if d.filed_at else ""),
    ("Référence d'engagement", lambda d: d.engagement_reference),
    ("Prochaine échéance", lambda d: _deadline_cell(d)),
    ("À reverser (€)", lambda d: d.recovery_due or None),
    ("Reversé (€)", lambda d: d.recovery_received or None),
]


def _deadline_cell(dossier) -> str:
    found = next_deadline(dossier)
    if found is None:
        return ""
    flag = " (dépassée)" if found["overdue"] else ""
    return f"{found['due'].isoformat()} {found['label']}{flag}"


@login_required
def dossier_list(request):
    dossiers = visible_dossiers(request.user).order_by("-created_at")
    state = request.GET.get("etat", "")
    if state in State.values:
        dossiers = dossiers.filter(state=state)
    due = request.GET.get("echeance", "")
    # The list shows two numbers of the live result: read them in SQL, never decode the grappe's JSON (national
    # scale: 1 400 dossiers).
    dossiers = dossiers.annotate(
        listed_count=Cast(KT("result__essms_count"), IntegerField()),
        listed_total=Cast(KT("result__total_eur"), IntegerField()),
    )
    listed = dossiers.defer("grappe", "result", "filed_result")[:500]
    if due in DEADLINE_FILTERS:
        # D-AFTER-DECISION: « échéance dépassée / proche » over the dossiers that have one.
        listed = [d for d in dossiers.filter(state__in=WITH_DEADLINE)[:500] if _due_matches(d, due)]
    return render(
        request,
        "www/dossiers/list.html",
        {
            "dossiers": listed,
            "states": State.choices,
            "state": state,
            "deadline_filters": _deadline_filter_labels().items(),
            "due": due,
            "can_create": request.access.may_create_dossier,
        },
    )


DEADLINE_FILTERS = ("depassee", "proche")


def _deadline_filter_labels() -> dict[str, str]:
    soon = default_tree().get("follow_up.deadline_soon_days").in_force(clock.today()).value
    return {"depassee": "Échéance dépassée", "proche": f"Échéance dans les {soon} jours"}


WITH_DEADLINE = (
    State.RETENU,
    State.CONVENTION_SIGNEE,
    State.AVANCE_DEMANDEE,
    State.AVANCE_VERSEE,
    State.EN_DEPLOIEMENT,
    State.CIBLES_MESUREES,
)


def _due_matches(dossier, which: str) -> bool:
    found = next_deadline(dossier)
    return found is not None and found["overdue" if which == "depassee" else "soon"]


@login_required
def dossier_export(request, fmt: str):
    issued, received = Recovery.State.ISSUED, Recovery.State.RECEIVED
    dossiers = (
        visible_dossiers(request.user)
        .order_by("reference")
        .annotate(
            recovery_due=Sum("recoveries__amount_eur", filter=Q(recoveries__state=issued)),
            recovery_received=Sum("recoveries__amount_eur", filter=Q(recoveries__state=received)),
        )
    )
    rows = [[get(d) for _, get in EXPORT_COLUMNS] for d in dossiers]
    header = [name for name, _ in EXPORT_COLUMNS]
    return table_response(fmt, "dossiers-esms-numerique", {"Dossiers": (header, rows)})
