"""SONS pages: the OG checklist, orders (éditeurs, OGs, payers), the VA, documents and dashboards."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from esms_numerique import clock
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.rules.checklist import sons_checklist
from esms_numerique.rules.checklist_calendar import SECTOR_LABELS, with_calendar
from esms_numerique.sons import documents
from esms_numerique.sons.access import actor_of, visible_orders
from esms_numerique.sons.models import OrderItem, Solution
from esms_numerique.sons.services import (
    OrderError,
    apply_order_transition,
    next_deadline,
    pending_referencing,
    record_recovery_received,
    record_va,
    sign_order,
)
from esms_numerique.sons.workflow import WORKFLOW, OrderState

from .exports import table_response
from .forms import ChecklistForm, OrderForm, VaForm
from .views import pdf_response

DOCUMENTS = {"bon-de-commande": documents.order_form, "va": documents.va_attestation}


def _checklist_date(value: str) -> tuple[dt.date, str | None]:
    if not value:
        return clock.today(), None
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return clock.today(), f"date « {value} » illisible : indiquez une date au format JJ/MM/AAAA"


def checklist(request):
    """SONS23 §4 check-list, with the ESSMS's sector (its couloir) and the date (the couloir's order window,
    S-CALENDAR): « SONS » only while that window is open (issue 12)."""
    form = ChecklistForm(request.GET or None)
    sector = request.GET.get("secteur", "")
    on, error = _checklist_date(request.GET.get("date", ""))
    answer = None
    if form.is_valid() and error is None:
        try:
            answer = sons_checklist(form.cleaned_data["situation"], form.cleaned_data["referencing"] or None)
            if answer.scheme == "sons" and sector not in SECTOR_LABELS:
                answer, error = None, "indiquez le secteur de l'ESSMS : il décide du couloir où commander (S-ELIG)"
            elif answer.scheme == "sons":
                answer = with_calendar(answer, sector, on)
        except ValueError as problem:
            error = str(problem)
    context = {
        "form": form,
        "answer": answer,
        "error": error,
        "sectors": SECTOR_LABELS.items(),
        "sector": sector,
        "on": on,
    }
    return render(request, "www/sons/checklist.html", context)


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
            "can_create": request.access.may_order,
        },
    )


# Dates are dates, the state its label (issue 12); the workbook's layout is exports.write_sheet's.
ORDER_EXPORT_COLUMNS = [
    ("Référence", lambda o: o.reference),
    ("OG (FINESS EJ)", lambda o: o.og.finess_ej),
    ("OG", lambda o: o.og.name),
    ("Éditeur", lambda o: o.solution.editor.name),
    ("Couloir", lambda o: o.couloir),
    ("Commande signée le", lambda o: o.ordered_on),
    ("État", lambda o: o.get_state_display()),
    ("ESSMS", lambda o: o.result.get("essms_count")),
    ("Total (€)", lambda o: o.result.get("total_eur")),
    ("Avance (€)", lambda o: o.result.get("advance_eur")),
    ("Avance versée (€)", lambda o: o.advance_paid_eur),
    ("Avance versée le", lambda o: o.advance_paid_on),
    ("Référence de l'avance", lambda o: o.advance_payment_reference),
    ("Solde versé (€)", lambda o: o.balance_paid_eur),
    ("Solde versé le", lambda o: o.balance_paid_on),
    ("Référence du solde", lambda o: o.balance_payment_reference),
    ("À recouvrer (€)", lambda o: o.recovery_eur),
]


@login_required
def order_export(request, fmt: str):
    """The orders the user sees, with what is owed back after a cancellation (D-SONS-RECOVERY)."""
    orders = visible_orders(request.user).order_by("reference")
    rows = [[get(o) for _, get in ORDER_EXPORT_COLUMNS] for o in orders]
    header = [name for name, _ in ORDER_EXPORT_COLUMNS]
    return table_response(fmt, "commandes-sons", {"Commandes SONS": (header, rows)})


@login_required
def order_create(request):
    if not request.access.may_order:
        raise PermissionDenied("Seul un éditeur enregistre une commande.")
    form = OrderForm(request.POST or None, solutions=Solution.objects.filter(editor_id=request.access.editor))
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
            "transitions": [t for t in WORKFLOW.from_state(order.state) if actor in t.roles],
            "va_open": actor == "og" and order.state == OrderState.PRESTATION_REALISEE,
            "va_fields": [(name, OrderItem._meta.get_field(name).verbose_name) for name in OrderItem.VA_FIELDS],
            "log": order.transitions.select_related("actor"),
            # S-PENDING is re-read every day: the OG is warned when the 120 days run out.
            "pending": [f.as_dict() for f in pending_referencing(order.solution, order.ordered_on)]
            if order.state != OrderState.ANNULEE
            else [],
            "next_deadline": next_deadline(order),
            "recoveries": order.recoveries.all(),
            "receives_recoveries": actor == "payeur",
        },
    )


@require_POST
@login_required
def order_recovery_received(request, reference: str, pk: int):
    order = _order_or_404(request.user, reference)
    recovery = order.recoveries.filter(pk=pk).first()
    if recovery is None:
        raise Http404("Ordre de reversement introuvable")
    try:
        received_on = (
            dt.date.fromisoformat(request.POST.get("received_on", "")) if request.POST.get("received_on") else None
        )
    except ValueError:
        messages.error(request, "Refusé : la date de réception doit être une date (AAAA-MM-JJ).")
        return redirect("www:order_detail", reference=reference)
    if not request.POST.get("reference", "").strip():
        messages.error(request, "Refusé : la référence de l'encaissement est obligatoire.")
        return redirect("www:order_detail", reference=reference)
    try:
        record_recovery_received(request.user, recovery, received_on, request.POST["reference"])
    except OrderError as problem:
        messages.error(request, f"Refusé : {problem}")
    else:
        messages.success(request, "Reversement enregistré.")
    return redirect("www:order_detail", reference=reference)


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
            {name: request.POST.get(name, "") for name in ("date", "payment_reference")},
        )
    except OrderError as problem:
        messages.error(request, f"Action refusée : {problem}")
    return redirect("www:order_detail", reference=reference)


@require_POST
@login_required
def order_va(request, reference: str):
    order = _order_or_404(request.user, reference)
    va_forms = [VaForm(request.POST, item=item) for item in order.items.select_related("establishment")]
    errors = [
        f"{form.fields[name].label} : {' '.join(problems)}"
        for form in va_forms
        for name, problems in form.errors.items()
    ]
    if errors:
        messages.error(request, f"VA refusée, rien n'est enregistré : {' ; '.join(errors)}.")
        return redirect("www:order_detail", reference=reference)
    try:
        with transaction.atomic():
            for form in va_forms:
                record_va(request.user, order, form.item.establishment.finess_et, form.answers())
    except OrderError as problem:
        messages.error(request, f"VA refusée : {problem}")
    else:
        unanswered = sum(len(OrderItem.VA_FIELDS) - len(form.answers()) for form in va_forms)
        messages.success(
            request,
            "Réponses de la VA enregistrées"
            + (f" ; {unanswered} question(s) encore sans réponse." if unanswered else "."),
        )
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
    if not request.access.follows_programme:
        raise PermissionDenied("Vue réservée aux ARS, GRADeS et équipes nationales.")
    per_og: dict = defaultdict(lambda: {"orders": [], "dossiers": [], "conflicts": []})
    orders = visible_orders(request.user).exclude(state=OrderState.ANNULEE)
    dossiers = visible_dossiers(request.user)
    owners = {}
    for order in orders:
        per_og[order.og]["orders"].append(order)
        owners[("order", order.pk)] = order.og
    for dossier in dossiers:
        per_og[dossier.porteur]["dossiers"].append(dossier)
        owners[("dossier", dossier.pk)] = dossier.porteur
    # From the ledger: an ESSMS claimed by two dossiers, or by an acquisition and a SONS order (E-NO-DOUBLE).
    found = ledger.conflicts(FundedEssms.objects.filter(Q(dossier__in=dossiers) | Q(order__in=orders)))
    for subject, lines in ledger.conflicts_by_subject(found).items():
        og = owners.get(subject)
        if og is not None:
            per_og[og]["conflicts"] += [line for line in lines if line not in per_og[og]["conflicts"]]
    rows = sorted(per_og.items(), key=lambda item: (not item[1]["conflicts"], item[0].finess_ej))
    return render(request, "www/sons/side_by_side.html", {"rows": rows})
