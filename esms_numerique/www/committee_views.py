"""Committee pages: the instructors' agenda and decisions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from esms_numerique.dossiers import committees
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.services import DossierError
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms

from .forms import CommitteeForm, DecisionForm
from .selection_views import committee_summary


def _committee_or_404(user, pk: int):
    committee = committees.visible_committees(user).filter(pk=pk).first()
    if committee is None:
        raise Http404("Comité introuvable")
    return committee


@login_required
def committee_list(request):
    if request.access.committee_region is None and not request.access.is_admin:
        raise PermissionDenied("Les comités sont réservés aux instructeurs.")
    form = CommitteeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            committee = committees.create_committee(request.user, **form.cleaned_data)
        except DossierError as error:
            messages.error(request, str(error))
        else:
            return redirect("www:committee_detail", pk=committee.pk)
    return render(
        request, "www/committees/list.html", {"committees": committees.visible_committees(request.user), "form": form}
    )


@login_required
def committee_detail(request, pk: int):
    committee = _committee_or_404(request.user, pk)
    items = list(committee.items.select_related("dossier", "dossier__porteur"))
    eligible = list(committees.eligible_dossiers(request.user, committee))
    # E-NO-DOUBLE before deciding: the ESSMS these dossiers share with other dossiers or SONS orders (the ledger).
    dossier_ids = [item.dossier_id for item in items] + [d.pk for d in eligible]
    shared = ledger.conflicts_by_subject(ledger.conflicts(FundedEssms.objects.filter(dossier_id__in=dossier_ids)))
    for dossier in [item.dossier for item in items] + eligible:
        dossier.conflicts = shared.get(("dossier", dossier.pk), [])
    return render(
        request,
        "www/committees/detail.html",
        {
            "committee": committee,
            "items": items,
            "eligible": eligible,
            "decision_form": DecisionForm(),
            # The envelope: engaged, proposed, remaining (AAP24 §6, DECISION D-SELECTION).
            **committee_summary(committee),
        },
    )


@require_POST
@login_required
def committee_add(request, pk: int):
    committee = _committee_or_404(request.user, pk)
    dossier = visible_dossiers(request.user).filter(reference=request.POST.get("reference", "")).first()
    if dossier is None:
        raise Http404("Dossier introuvable")
    try:
        committees.add_to_agenda(request.user, committee, dossier)
    except DossierError as error:
        messages.error(request, str(error))
    return redirect("www:committee_detail", pk=pk)


@require_POST
@login_required
def committee_decide(request, pk: int, item_id: int):
    committee = _committee_or_404(request.user, pk)
    item = committee.items.filter(pk=item_id).select_related("dossier").first()
    if item is None:
        raise Http404("Dossier absent de l'ordre du jour")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Décision refusée : choisissez une décision et motivez-la.")
    else:
        try:
            committees.decide(request.user, item, form.cleaned_data["decision"], form.cleaned_data["reason"])
        except DossierError as error:
            messages.error(request, str(error))
    return redirect("www:committee_detail", pk=pk)
