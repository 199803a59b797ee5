"""SONS pages: the OG checklist, orders (éditeurs, OGs, payers), the VA, documents and dashboards."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from esms_numerique.dossiers.access import profile_of, role_of, visible_dossiers
from esms_numerique.dossiers.enums import Role
from esms_numerique.rules.checklist import sons_checklist
from esms_numerique.sons import documents
from esms_numerique.sons.access import actor_of, visible_orders
from esms_numerique.sons.models import OrderItem, Solution
from esms_numerique.sons.services import (
    OrderError,
    apply_order_transition,
    pending_referencing,
    record_va,
    sign_order,
)
from esms_numerique.sons.workflow import ORDER_TRANSITIONS, OrderState

from .forms import ChecklistForm, OrderForm
from .views import pdf_response

DOCUMENTS = {"bon-de-commande": documents.order_form, "va": documents.va_attestation}


def checklist(request):
    form = ChecklistForm(request.GET or None)
    answer, error = None, None
    if form.is_valid():
        try:
            answer = sons_checklist(form.cleaned_data["situation"], form.cleaned_data["referencing"] or None)
        except ValueError as problem:
            error = str(problem)
    return render(request, "www/sons/checklist.html", {"form": form, "answer": answer, "error": error})


def _order_or_404(user, reference: str):
    order = visible_orders(user).filter(reference=reference).first()
    if order is None:
        raise Http404("Commande introuvable")
    return order


@login_required
def order_list(request):
    orders = list(visible_orders(request.user).order_by("-ordered_on", "reference"))
    by_state = Counter(o.state for o in orders)
    advance_due = sum(o.result.get("advance_eur") or 0 for o in orders if o.state == OrderState.AVANCE_DEMANDEE)
    balance_due = sum(o.result.get("balance_eur") or 0 for o in orders if o.state == OrderState.SOLDE_DEMANDE)
    most = max(by_state.values(), default=1)
    chart = [
        (label, by_state.get(value, 0), 100 * by_state.get(value, 0) // most) for value, label in OrderState.choices
    ]
    return render(
        request,
        "www/sons/list.html",
        {
            "orders": orders,
            "chart": chart,
            "advance_due": advance_due,
            "balance_due": balance_due,
            "can_create": role_of(request.user) == Role.EDITEUR,
        },
    )


@login_required
def order_create(request):
    profile = profile_of(request.user)
    if profile is None or profile.role != Role.EDITEUR or profile.editor_id is None:
        raise PermissionDenied("Seul un éditeur enregistre une commande.")
    form = OrderForm(request.POST or None, solutions=Solution.objects.filter(editor_id=profile.editor_id))
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = sign_order(
                request.user,
                data["og"],
                data["solution"],
                data["sector"],
                data["ordered_on"],
                data["items"],
                other_ogs=data["other_ogs"],
            )
        except OrderError as problem:
            error = str(problem)
        else:
            messages.success(request, f"Commande {order.reference} enregistrée.")
            return redirect("www:order_detail", reference=order.reference)
    return render(request, "www/sons/form.html", {"form": form, "error": error})


@login_required
def order_detail(request, reference: str):
    order = _order_or_404(request.user, reference)
    actor = actor_of(request.user, order)
    return render(
        request,
        "www/sons/detail.html",
        {
            "order": order,
            "items": order.items.select_related("establishment"),
            "transitions": [t for t in ORDER_TRANSITIONS if order.state in t.sources and actor in t.actors],
            "va_open": actor == "og" and order.state == OrderState.PRESTATION_REALISEE,
            "va_fields": [(name, OrderItem._meta.get_field(name).verbose_name) for name in OrderItem.VA_FIELDS],
            "log": order.transitions.select_related("actor"),
            # S-PENDING is re-read every day: the OG is warned when the 120 days run out.
            "pending": [f.as_dict() for f in pending_referencing(order.solution, order.ordered_on)]
            if order.state != OrderState.ANNULEE
            else [],
        },
    )


@require_POST
@login_required
def order_transition(request, reference: str):
    order = _order_or_404(request.user, reference)
    version = request.POST.get("version", "")
    try:
        apply_order_transition(
            request.user,
            order,
            request.POST.get("transition", ""),
            int(version) if version.isdigit() else 0,
            request.POST.get("comment", ""),
        )
    except OrderError as problem:
        messages.error(request, f"Action refusée : {problem}")
    return redirect("www:order_detail", reference=reference)


@require_POST
@login_required
def order_va(request, reference: str):
    order = _order_or_404(request.user, reference)
    try:
        for item in order.items.select_related("establishment"):
            answers = {name: request.POST.get(f"{item.pk}-{name}") == "oui" for name in OrderItem.VA_FIELDS}
            record_va(request.user, order, item.establishment.finess_et, answers)
    except OrderError as problem:
        messages.error(request, f"VA refusée : {problem}")
    else:
        messages.success(request, "Réponses de la VA enregistrées.")
    return redirect("www:order_detail", reference=reference)


@login_required
def order_document(request, reference: str, document: str):
    order = _order_or_404(request.user, reference)
    if document == "annulation":
        cancel = order.transitions.filter(transition="annuler").last()
        if cancel is None:
            raise Http404("Commande non annulée")
        content = documents.cancellation_attestation(order, cancel.comment)
    elif document in DOCUMENTS:
        content = DOCUMENTS[document](order)
    else:
        raise Http404("Document inconnu")
    return pdf_response(content, f"{order.reference}-{document}.pdf")


@login_required
def side_by_side(request):
    """For ARS and national teams: per OG, its SONS orders beside its ESMS numérique dossiers, conflicts
    flagged (an ESSMS funded for acquisition that also ordered the Prestation Ségur)."""
    if role_of(request.user) not in (Role.ARS, Role.NATIONAL, Role.OBSERVER, Role.ADMIN):
        raise PermissionDenied("Vue réservée aux ARS, GRADeS et équipes nationales.")
    per_og: dict = defaultdict(lambda: {"orders": [], "dossiers": [], "conflicts": set()})
    sons_essms = defaultdict(set)
    for order in (
        visible_orders(request.user).exclude(state=OrderState.ANNULEE).prefetch_related("items__establishment")
    ):
        per_og[order.og]["orders"].append(order)
        sons_essms[order.og].update(i.establishment.finess_et for i in order.items.all())
    for dossier in visible_dossiers(request.user):
        per_og[dossier.porteur]["dossiers"].append(dossier)
        acquisitions = {
            e["finess_et"]
            for e in (dossier.filed_result or dossier.result).get("essms", [])
            if e.get("operation") == "acquisition"
        }
        per_og[dossier.porteur]["conflicts"] |= acquisitions & sons_essms[dossier.porteur]
    rows = sorted(per_og.items(), key=lambda item: (not item[1]["conflicts"], item[0].finess_ej))
    return render(request, "www/sons/side_by_side.html", {"rows": rows})
