"""Registry pages: search by FINESS, name, department, OG; an establishment's card; sector correction."""

from __future__ import annotations

from html import escape

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from esms_numerique.jobs.services import may_import_registry
from esms_numerique.registry.access import sector_correction_refusal
from esms_numerique.registry.models import Establishment, Snapshot
from esms_numerique.registry.queries import search_establishments
from esms_numerique.registry.services import SectorError, override_sector
from esms_numerique.rules.parameters import default_tree

from .dossier_rows import form_html
from .links import row_link


def sector_choices(empty: str) -> list[tuple[str, str]]:
    rows = default_tree().get("sectors.sectors").values[-1].value
    return [("", empty)] + [(row["code"], f"{row['code']} — {row['label']}") for row in rows]


class RegistrySearchForm(DsfrBaseForm):
    q = forms.CharField(label="FINESS ET ou nom", required=False)
    department = forms.CharField(label="Département (code FINESS : 35, 2A, 9A…)", required=False, max_length=3)
    og = forms.CharField(label="Organisme gestionnaire (FINESS EJ ou nom)", required=False)
    sector = forms.ChoiceField(label="Secteur", required=False, choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = sector_choices("Tous")


class SectorOverrideForm(DsfrBaseForm):
    sector = forms.ChoiceField(label="Secteur retenu", required=False, choices=[])
    reason = forms.CharField(label="Motif de la correction", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = sector_choices("Celui de la table des catégories")


PER_PAGE = 50
COUNT_CAP = 1000  # results counted at most; past it, « plus de 1 000 » (DECISION D-REGISTRY-SEARCH-COUNT)


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 results: a word found in thousands of names is answered as fast as a rare one,
    and says « plus de 1 000 » rather than an exact number nobody pages through (its first 20 pages stay open)."""

    @cached_property
    def found(self) -> int:
        # Without the order: which rows are counted does not change how many, and a scan need not follow the index.
        return self.object_list.order_by().values("pk")[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.found > COUNT_CAP

    @cached_property
    def count(self) -> int:
        return min(self.found, COUNT_CAP)


# What a result's row shows (result_rows), the only columns read.
ROW_FIELDS = (
    "finess_et",
    "name",
    "category",
    "category_label",
    "sector",
    "sector_override",
    "department",
    "legal_entity__finess_ej",
    "legal_entity__name",
)


def result_rows(establishments) -> SafeString:
    """The results' rows, written here with the markup the template's loop had, escaped as it escaped (`html.escape`,
    what `django.utils.html.escape` calls): 50 rows through the template were a third of the page (issue 16)."""
    card = row_link("www:registry_detail")
    out = []
    for e in establishments:
        finess = escape(e.finess_et)
        out.append(
            f'<tr><td><a href="{escape(card(e.finess_et))}">{finess}</a></td><td>{escape(e.name)}</td>'
            f"<td>{escape(e.category)} {escape(e.category_label)}</td>"
            f"<td>{escape(e.effective_sector or 'non ESSMS')}</td><td>{escape(e.department)}</td>"
            f"<td>{escape(e.legal_entity.finess_ej)} {escape(e.legal_entity.name)}</td></tr>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


@login_required
def search(request):
    form = RegistrySearchForm(request.GET or None)
    results = None
    if form.is_valid() and any(form.cleaned_data.values()):
        found = search_establishments(**form.cleaned_data).only(*ROW_FIELDS)
        results = CappedCountPaginator(found, PER_PAGE).get_page(request.GET.get("page"))
    # A valid search's form is the unbound form showing the same values (tested equal), whose markup is kept once made.
    shown = form_html(RegistrySearchForm(initial=form.cleaned_data)) if form.is_valid() else form
    snapshot = Snapshot.objects.filter(kind=Snapshot.Kind.ET).first()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "www/registry/search.html",
        {
            "form": shown,
            "results": results,
            "rows": result_rows(results.object_list) if results is not None else "",
            "snapshot": snapshot,
            "query": query.urlencode(),
            "can_import": may_import_registry(request.user),
        },
    )


@login_required
def detail(request, finess: str):
    establishment = get_object_or_404(Establishment.objects.select_related("legal_entity"), finess_et=finess.upper())
    form = SectorOverrideForm(
        initial={"sector": establishment.sector_override, "reason": establishment.sector_override_reason}
    )
    return render(
        request,
        "www/registry/detail.html",
        {
            "establishment": establishment,
            "form": form,
            "can_override": request.user.has_perm("registry.change_establishment")
            and sector_correction_refusal(request.access, establishment) is None,
        },
    )


@require_POST
@login_required
@permission_required("registry.change_establishment", raise_exception=True)
def correct_sector(request, finess: str):
    establishment = get_object_or_404(Establishment, finess_et=finess.upper())
    refusal = sector_correction_refusal(request.access, establishment)
    if refusal:
        raise PermissionDenied(refusal)
    form = SectorOverrideForm(request.POST)
    if form.is_valid():
        try:
            override_sector(
                establishment, form.cleaned_data["sector"], form.cleaned_data["reason"], request.user.get_username()
            )
        except SectorError as error:
            messages.error(request, f"Correction refusée : {error}.")
        else:
            messages.success(request, "Secteur corrigé ; la correction est tracée dans le journal d'audit.")
    else:
        messages.error(request, "Correction refusée : le motif est obligatoire.")
    return redirect("www:registry_detail", finess=establishment.finess_et)
