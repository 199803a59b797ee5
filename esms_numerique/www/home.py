"""What awaits each person on their home page: the porteur's drafts and complements, the instructor's dossiers to
instruct and committees, the national desk's payments, the éditeur's orders and their next step. Each list is one
bounded query (tests/www/test_query_counts.py pins them); the scope of every list comes from the one door
(request.access, dossiers/access.py, sons/access.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse

from esms_numerique import clock
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.committees import visible_committees
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import PaymentRequest
from esms_numerique.rules.geography import geography
from esms_numerique.rules.money import format_share
from esms_numerique.rules.parameters import default_tree
from esms_numerique.sons.access import visible_orders
from esms_numerique.sons.services import next_deadline as order_deadline
from esms_numerique.sons.workflow import OrderState

from .dossier_list_views import deadline_soon_days, instruction_desk

SHOWN = 8  # rows of each list; « voir tout » leads to the full list
TO_INSTRUCT = (State.DEPOSE, State.COMPLETE, State.RECEVABLE, State.EN_INSTRUCTION)
# An order's next step, and who takes it (S-FLOW, SONS23).
ORDER_NEXT_STEP = {
    OrderState.SIGNEE: "l'éditeur demande l'avance ({share})",  # sons/flow.advance_share at the order's date
    OrderState.AVANCE_DEMANDEE: "la CNSA/DNS (pour l'ASP) verse l'avance",
    OrderState.AVANCE_VERSEE: "l'éditeur réalise la prestation",
    OrderState.PRESTATION_REALISEE: "l'OG signe la VA",
    OrderState.VA_SIGNEE: "l'éditeur demande le solde",
    OrderState.SOLDE_DEMANDE: "la CNSA/DNS (pour l'ASP) verse le solde",
}
CLOSED_ORDERS = (OrderState.SOLDE_VERSE, OrderState.CONTROLE, OrderState.ANNULEE)
LIGHT_FIELDS = ("reference", "title", "state", "desk", "pivot_region", "updated_at", "porteur__name")


@dataclass
class Section:
    """One list of the home page: a heading, its rows (dossiers, orders, committees, payments), and the page
    that shows them all."""

    key: str
    title: str
    rows: list[Any] = field(default_factory=list)
    more_url: str = ""
    empty: str = "Rien en attente."
    kind: str = "dossiers"

    @property
    def shown(self) -> list[Any]:
        return self.rows[:SHOWN]

    @property
    def more(self) -> bool:
        return len(self.rows) > SHOWN


def _dossiers(user, *states, where: Q | None = None, **filters):
    found = visible_dossiers(user).filter(where or Q(), state__in=states, **filters)
    return list(found.only(*LIGHT_FIELDS).order_by("updated_at")[: SHOWN + 1])


def _list_url(state: str = "", due: str = "") -> str:
    url = reverse("www:dossier_list")
    query = "&".join(part for part in (f"etat={state}" if state else "", f"echeance={due}" if due else "") if part)
    return f"{url}?{query}" if query else url


def _deadlines(user) -> list[dict[str, Any]]:
    """The dossiers whose next deadline is passed or near (D-AFTER-DECISION), the nearest first: read from the
    deadline stored on each dossier with its changes (dossiers/listing.py, D-LIST-COLUMNS), as the list filters it."""
    today = clock.today()
    horizon = today + dt.timedelta(days=deadline_soon_days(today))
    found = (
        visible_dossiers(user)
        .filter(deadline_on__lte=horizon)
        .select_related("porteur")
        .only(*LIGHT_FIELDS, "deadline_on", "deadline_label")
        .order_by("deadline_on", "reference")[: SHOWN + 1]
    )
    return [
        {
            "dossier": dossier,
            "label": dossier.deadline_label,
            "due": dossier.deadline_on,
            "overdue": dossier.deadline_on < today,
            "soon": dossier.deadline_on >= today,
        }
        for dossier in found
    ]


def _assigned_to(user, states) -> list:
    """Dossiers whose current assignment names `user` (the instruction app's assignments, when installed)."""
    if not apps.is_installed("esms_numerique.instruction"):
        return []
    from esms_numerique.instruction.models import Assignment

    latest = Assignment.objects.filter(dossier_id=OuterRef("pk")).order_by("-at", "-id").values("instructor_id")[:1]
    found = visible_dossiers(user).filter(state__in=states).annotate(assignee=Subquery(latest)).filter(assignee=user.pk)
    return list(found.select_related("porteur").only(*LIGHT_FIELDS).order_by("updated_at")[: SHOWN + 1])


def _committees(user) -> Section:
    upcoming = visible_committees(user).filter(date__gte=clock.today()).order_by("date")[: SHOWN + 1]
    return Section(
        "comites",
        "Prochains comités",
        list(upcoming),
        reverse("www:committee_list"),
        "Aucun comité à venir.",
        kind="committees",
    )


def _payments(user, desk: Q) -> Section:
    """The payment requests of the dossiers whose instruction is the user's desk's (dossier_list_views)."""
    dossiers = visible_dossiers(user).filter(desk).values("pk")
    requests = (
        PaymentRequest.objects.filter(state=PaymentRequest.State.REQUESTED, dossier__in=dossiers)
        .select_related("dossier")
        .only("kind", "state", "amount_eur", "requested_at", "dossier__reference")
        .order_by("requested_at")[: SHOWN + 1]
    )
    return Section(
        "paiements",
        "Demandes de paiement à approuver",
        list(requests),
        _list_url(),
        "Aucune demande de paiement en attente.",
        kind="payments",
    )


def _next_step(order) -> str:
    step = ORDER_NEXT_STEP.get(order.state, "")
    if "{share}" in step:
        share = default_tree().get("sons/flow.advance_share").in_force(order.ordered_on).value
        step = step.format(share=format_share(share))
    return step


def _orders(user, title: str, states=None, empty: str = "Aucune commande en cours.") -> Section:
    orders = visible_orders(user).exclude(state__in=CLOSED_ORDERS)
    if states:
        orders = orders.filter(state__in=states)
    rows = []
    for order in orders.order_by("ordered_on", "reference")[: SHOWN + 1]:
        rows.append({"order": order, "next_step": _next_step(order), "due": order_deadline(order)})
    return Section("commandes", title, rows, reverse("www:order_list"), empty, kind="orders")


def sections_for(request) -> list[Section]:
    access, user = request.access, request.user
    if access.og_id is not None:
        return [
            Section(
                "brouillons",
                "Brouillons à compléter et déposer",
                _dossiers(user, State.BROUILLON, porteur_id=access.og_id),
                _list_url(State.BROUILLON),
                "Aucun brouillon en cours.",
            ),
            Section(
                "complements",
                "Compléments demandés par l'instructeur",
                _dossiers(user, State.COMPLEMENT_DEMANDE, porteur_id=access.og_id),
                _list_url(State.COMPLEMENT_DEMANDE),
                "Aucun complément demandé.",
            ),
            Section("echeances", "Échéances dépassées ou proches", _deadlines(user), _list_url(), kind="deadlines"),
            _orders(user, "Commandes SONS de mes ESSMS"),
        ]
    if access.instructed_region:
        # The ARS' own desk: not a dossier it handed over to CNSA/DNS (DECISION D-HAND-OVER).
        desk = instruction_desk(access)
        to_instruct = visible_dossiers(user).filter(desk, state__in=TO_INSTRUCT).select_related("porteur")
        return [
            Section(
                "a-moi",
                "Dossiers qui me sont attribués",
                _assigned_to(user, TO_INSTRUCT + (State.COMPLEMENT_DEMANDE, State.PRESENTE_COMITE)),
                _list_url(),
                "Aucun dossier ne vous est attribué.",
            ),
            Section(
                "a-instruire",
                f"Dossiers à instruire dans ma région ({geography().region_name(access.instructed_region)})",
                list(to_instruct.only(*LIGHT_FIELDS).order_by("updated_at")[: SHOWN + 1]),
                _list_url(),
                "Aucun dossier à instruire.",
            ),
            _committees(user),
            Section("echeances", "Échéances dépassées ou proches", _deadlines(user), _list_url(), kind="deadlines"),
            _payments(user, desk),
        ]
    if access.is_national or access.is_admin:
        # The national desk's dossiers and those a pivot ARS handed over (DECISION D-HAND-OVER).
        desk = instruction_desk(access)
        return [
            Section(
                "a-instruire",
                "Dossiers à instruire par la CNSA/DNS (guichet national et dossiers transmis par une ARS)",
                _dossiers(user, *TO_INSTRUCT, where=desk),
                _list_url(),
                "Aucun dossier à instruire par la CNSA/DNS.",
            ),
            _payments(user, desk),
            _orders(
                user,
                "Paiements SONS à verser (pour l'ASP)",
                (OrderState.AVANCE_DEMANDEE, OrderState.SOLDE_DEMANDE),
                "Aucune demande d'avance ou de solde en attente.",
            ),
            _committees(user),
        ]
    if access.editor is not None:
        return [_orders(user, "Mes commandes SONS et leur prochaine étape")]
    if access.read_region:
        return [
            Section(
                "suivi",
                f"Dossiers en déploiement dans la région ({geography().region_name(access.read_region)})",
                _dossiers(user, State.EN_DEPLOIEMENT, State.CIBLES_MESUREES),
                reverse("www:follow_up"),
                "Aucun dossier en déploiement.",
            )
        ]
    return []
