"""Committee pages: the instructors' agenda and decisions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models.fields.json import KeyTransform
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from esms_numerique.dossiers import committees
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.services import DossierError
from esms_numerique.selection import services as selection

from .dossier_rows import form_html
from .forms import CommitteeForm, DecisionForm
from .links import row_link
from .selection_views import cached_content, committee_summary


class CommitteeDecisionForm(DecisionForm):
    """The decision, and the reason of a departure from the selection proposal when there is one (P-OVERRIDE)."""

    override_reason = forms.CharField(
        label="Motif de l'écart à la proposition",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Seulement si la décision s'écarte de la proposition calculée pour ce comité.",
    )


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


# What the committee's page shows of a dossier: no JSON field is decoded, its filed total is read from the frozen
# result by the database (issue 16).
DOSSIER_COLUMNS = ("reference", "title")


def _filed_total(path: str = "filed_result"):
    return KeyTransform("total_eur", path)


@login_required
def committee_detail(request, pk: int):
    committee = _committee_or_404(request.user, pk)
    # The page's content is made once per state of the data it reads (the figures' stamp, which counts the agenda and
    # the dossiers of the scope), the committee as read now, and the reader's access (the eligible dossiers are those
    # it sees): one query when nothing changed (DECISION D-COMMITTEE-FIGURES-CACHE).
    stamp = selection.figures_stamp(committee)
    content = cached_content(
        request,
        committee,
        stamp,
        "www/committees/_detail_content.html",
        lambda: _detail_context(request.user, committee, stamp),
    )
    return render(request, "www/committees/detail.html", {"committee": committee, "content": content})


def _detail_context(user, committee, stamp: str) -> dict:
    """The agenda with each item's proposal and decision, the eligible dossiers, the ledger's conflicts, the
    envelope's figures."""
    items = list(
        committee.items.select_related("dossier", "dossier__porteur", "selection_link", "selection_link__override")
        .annotate(filed_total=_filed_total("dossier__filed_result"))
        .only(
            "committee",
            "decision",
            "reason",
            *(f"dossier__{name}" for name in DOSSIER_COLUMNS),
            "dossier__porteur__name",
            "dossier__porteur__finess_ej",
            "selection_link__proposal",
            "selection_link__proposed",
            "selection_link__followed",
            "selection_link__override__reason",
        )
    )
    for item in items:
        item.dossier.filed_total = item.filed_total
    eligible = list(
        committees.eligible_dossiers(user, committee)
        .select_related(None)
        .annotate(filed_total=_filed_total())
        .only(*DOSSIER_COLUMNS)
    )
    # E-NO-DOUBLE before deciding: the ESSMS these dossiers share with other dossiers or SONS orders (the ledger).
    dossier_ids = [item.dossier_id for item in items] + [d.pk for d in eligible]
    shared = selection.committee_conflicts(committee, dossier_ids, stamp)
    for dossier in [item.dossier for item in items] + eligible:
        dossier.conflicts = shared.get(("dossier", dossier.pk), [])
    summary = committee_summary(committee, stamp)
    # Each row's links made once per page, not reversed per row (issue 16).
    detail, decide = row_link("www:dossier_detail"), row_link("www:committee_decide", committee.pk)
    for item in items:
        # What the latest proposal, with its overrides, says of a pending item (DECISION D-SELECTION-DECISIONS).
        item.proposed = item.dossier.reference in summary["selection"].chosen if summary["selection"].proposal else None
        item.dossier.url = detail(item.dossier.reference)
        item.decide_url = decide(item.pk)
    return {
        "committee": committee,
        "items": items,
        "eligible": eligible,
        # The same empty form on each pending item: rendered once, then from the cache (issue 16).
        "decision_form": form_html(CommitteeDecisionForm()),
        "add_url": reverse("www:committee_add", args=[committee.pk]),
        # The envelope: engaged, proposed, remaining (AAP24 §6, DECISION D-SELECTION).
        **summary,
    }


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
    form = CommitteeDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Décision refusée : choisissez une décision et motivez-la.")
    else:
        data = form.cleaned_data
        try:
            committees.decide(request.user, item, data["decision"], data["reason"], data["override_reason"])
        except DossierError as error:
            messages.error(request, str(error))
    return redirect("www:committee_detail", pk=pk)
