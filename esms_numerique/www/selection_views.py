"""Selection pages (AAP24 §6): the campaign envelopes (CNSA), a dossier's prioritisation grid (its instructors), a
committee's optimal proposal and its charts (the committee's instructors). Thin views: the rules are in
rules/selection.py, the changes in selection/services.py (docs/decisions.md, DECISION D-SELECTION)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from dsfr.forms import DsfrBaseForm

from esms_numerique import caching, clock
from esms_numerique.accounts.access import access_of
from esms_numerique.dossiers import committees
from esms_numerique.dossiers.access import is_instructor_of, sees_annotations, visible_dossiers
from esms_numerique.rules import selection as rules
from esms_numerique.rules.context import available_campaigns
from esms_numerique.rules.parameters import default_tree
from esms_numerique.selection import coverage, services
from esms_numerique.selection.models import Envelope, GridAssessment
from esms_numerique.selection.xlsx import whatif_workbook
from esms_numerique.workflow.engine import MAX_AMOUNT_EUR

from .charts import bars_svg, euros_label, svg_response
from .exports import XLSX

# ---------------------------------------------------------------------------------------------------------------
# Envelopes.


class EnvelopeForm(DsfrBaseForm):
    campaign = forms.ChoiceField(label="Campagne")
    region = forms.ChoiceField(label="Région (ARS) ou guichet national", required=False)
    amount_eur = forms.IntegerField(label="Montant de l'enveloppe (€)", min_value=0, max_value=MAX_AMOUNT_EUR)
    effective_on = forms.DateField(label="En vigueur à partir du", widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(
        label="Référence", max_length=255, help_text="Le texte qui fixe le montant, et sa section."
    )
    reason = forms.CharField(label="Motif", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [(c, c) for c in reversed(available_campaigns())]
        self.fields["region"].choices = services.region_choices()


@login_required
def envelope_list(request):
    access = request.access
    if not (access.is_national or access.is_admin):
        raise PermissionDenied("Les enveloppes de campagne sont fixées par la CNSA.")
    form = EnvelopeForm(request.POST or None, initial={"effective_on": clock.today()})
    if request.method == "POST":
        if not access.is_national:
            raise PermissionDenied("Seule la CNSA fixe les enveloppes de campagne.")
        if form.is_valid():
            try:
                services.set_envelope(request.user, **form.cleaned_data)
            except services.SelectionError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "Enveloppe enregistrée.")
            return redirect("www:selection_envelopes")
    envelopes = Envelope.objects.select_related("set_by").order_by("-campaign", "region", "-effective_on", "-set_at")
    names = dict(services.region_choices())
    for envelope in envelopes:
        envelope.region_label = names.get(envelope.region, envelope.region)
    return render(
        request,
        "www/selection/envelopes.html",
        {"envelopes": envelopes, "form": form if access.is_national else None},
    )


# ---------------------------------------------------------------------------------------------------------------
# The prioritisation grid of a dossier.


class GridForm(DsfrBaseForm):
    def __init__(self, grid: rules.Grid, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(points), f"{points} — {label}") for points, label in grid.scale]
        for criterion in grid.criteria:
            self.fields[f"note_{criterion.code}"] = forms.TypedChoiceField(
                label=f"{criterion.label} (poids {criterion.weight})",
                help_text=criterion.comment,
                choices=choices,
                coerce=int,
            )
            self.fields[f"comment_{criterion.code}"] = forms.CharField(
                label="Commentaire", required=False, widget=forms.Textarea(attrs={"rows": 2})
            )


def _dossier_for_grid(request, reference: str):
    dossier = visible_dossiers(request.user).filter(reference=reference).first()
    if dossier is None:
        raise Http404("Dossier introuvable")
    if not sees_annotations(request.user, dossier):
        raise PermissionDenied("La grille de priorisation est réservée aux instructeurs.")
    return dossier


@login_required
def grid_page(request, reference: str):
    dossier = _dossier_for_grid(request, reference)
    grid = rules.grid_on(services.grid_date(dossier))
    assessment = GridAssessment.objects.filter(dossier=dossier).first()
    proposed = services.prefill(dossier)
    initial = {}
    for code in grid.codes():
        if assessment and code in assessment.notes:
            initial[f"note_{code}"] = str(assessment.notes[code])
        elif code in proposed:
            initial[f"note_{code}"] = str(proposed[code]["note"])
        initial[f"comment_{code}"] = (assessment.comments if assessment else {}).get(code, "")
    form = GridForm(grid, request.POST or None, initial=initial)
    if request.method == "POST":
        if not is_instructor_of(request.user, dossier):
            raise PermissionDenied("Seuls les instructeurs du dossier remplissent sa grille.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.save_grid(
                    request.user,
                    dossier,
                    {code: data[f"note_{code}"] for code in grid.codes()},
                    {code: data[f"comment_{code}"] for code in grid.codes()},
                )
            except services.SelectionError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "Grille enregistrée.")
            return redirect("www:selection_grid", reference=dossier.reference)
    facts = services.grid_facts(dossier)
    return render(
        request,
        "www/selection/grid.html",
        {
            "dossier": dossier,
            "grid": grid,
            "form": form,
            "assessment": assessment,
            "prefill": proposed,
            "facts": facts,
            "acquisition_percent": round(float(facts["acquisition_share"]) * 100),
            "editable": is_instructor_of(request.user, dossier) and dossier.state in services.GRID_STATES,
            "sources": {name: str(value.reference) for name, value in grid.sources.items()},
        },
    )


# ---------------------------------------------------------------------------------------------------------------
# A committee's proposal.

SECTORS = list(services.SECTOR_LABELS)


class ProposalForm(DsfrBaseForm):
    objective = forms.ChoiceField(label="Objectif à maximiser", choices=list(rules.OBJECTIVES.items()))
    acquisition_bonus = forms.IntegerField(
        label="Majoration des acquisitions (%)",
        min_value=0,
        max_value=100,
        help_text="AAP24 §6 : « un intérêt marqué »",
    )
    territorial_balance = forms.BooleanField(label="Équilibre entre territoires (densité des ESSMS)", required=False)
    territory_tolerance = forms.IntegerField(label="Tolérance (points de part)", min_value=0, max_value=100)
    sector_balance = forms.BooleanField(label="Équilibre entre secteurs (bornes ci-dessous)", required=False)
    territory_coverage = forms.BooleanField(label="Au moins un dossier par territoire candidat", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code in SECTORS:
            self.fields[f"min_{code}"] = forms.IntegerField(
                label=f"{code} : part minimale (%)", min_value=0, max_value=100
            )
            self.fields[f"max_{code}"] = forms.IntegerField(
                label=f"{code} : part maximale (%)", min_value=0, max_value=100
            )

    def settings(self) -> rules.Settings:
        data = self.cleaned_data
        return rules.Settings(
            objective=data["objective"],
            acquisition_bonus=data["acquisition_bonus"] / 100,
            territorial_balance=data["territorial_balance"],
            territory_tolerance=data["territory_tolerance"] / 100,
            sector_balance=data["sector_balance"],
            sector_bounds={code: (data[f"min_{code}"] / 100, data[f"max_{code}"] / 100) for code in SECTORS},
            territory_coverage=data["territory_coverage"],
        )


def _initial(committee, proposal) -> dict:
    """The committee's last settings, else the dated defaults."""
    if proposal is not None and proposal.options:
        options = proposal.options
        bounds = options.get("sector_bounds", {})
    else:
        defaults, values = rules.default_settings(committee.date)
        options = defaults.as_dict()
        low, high = values["sector_min_share"].value, values["sector_max_share"].value
        bounds = {code: [low, high] for code in SECTORS}
    initial = {
        "objective": options["objective"],
        "acquisition_bonus": round(options["acquisition_bonus"] * 100),
        "territorial_balance": options["territorial_balance"],
        "territory_tolerance": round(options["territory_tolerance"] * 100),
        "sector_balance": options["sector_balance"],
        "territory_coverage": options["territory_coverage"],
    }
    for code in SECTORS:
        low, high = bounds.get(code, [0, 1])
        initial[f"min_{code}"], initial[f"max_{code}"] = round(low * 100), round(high * 100)
    return initial


def _committee_or_404(user, pk: int):
    committee = committees.visible_committees(user).filter(pk=pk).first()
    if committee is None:
        raise Http404("Comité introuvable")
    return committee


class OverrideForm(DsfrBaseForm):
    """The committee departs from the proposal for one dossier, with its reason (P-OVERRIDE)."""

    reference = forms.CharField(widget=forms.HiddenInput)
    include = forms.TypedChoiceField(
        widget=forms.HiddenInput, choices=[("1", "ajouter"), ("0", "retirer")], coerce=lambda v: v == "1"
    )
    reason = forms.CharField(label="Motif de l'écart", max_length=2000)


def _override(request, committee, proposal):
    form = OverrideForm(request.POST)
    if proposal is None or not form.is_valid():
        messages.error(request, "Écart refusé : motivez-le.")
        return redirect("www:selection_proposal", pk=committee.pk)
    data = form.cleaned_data
    dossier = visible_dossiers(request.user).filter(reference=data["reference"]).first()
    if dossier is None:
        raise Http404("Dossier introuvable")
    try:
        services.set_override(request.user, proposal, dossier, data["include"], data["reason"])
    except services.SelectionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Écart à la proposition enregistré pour {dossier.reference}.")
    return redirect("www:selection_proposal", pk=committee.pk)


def _rows_with_overrides(proposal, decided: set[str]) -> list[dict]:
    """The proposal's rows with what the committee made of them: its override and whether it is still open."""
    if proposal is None:
        return []
    found = proposal.overrides.select_related("dossier").only("proposal", "include", "reason", "dossier__reference")
    overrides = {o.dossier.reference: o for o in found}
    chosen = services.effective_selection(proposal)
    rows = []
    for row in proposal.result.get("dossiers", []):
        override = overrides.get(row["reference"])
        rows.append(
            row
            | {
                "chosen": row["reference"] in chosen,
                "override": override,
                "open": row["reference"] not in decided,
            }
        )
    return rows


def cached_content(request, committee, stamp: str, template: str, make_context) -> str:
    """A committee page's content, made once per state of the data it reads (the stamp), the committee as read now
    and the reader's access, then from the cache (DECISION D-COMMITTEE-FIGURES-CACHE)."""
    access = repr(access_of(request.user))
    seen = [template, stamp, committee.label, committee.date, committee.cutoff_date, committee.region, access]
    content = caching.cached(
        "committees:content",
        seen,
        lambda: render_to_string(template, make_context() | {"csrf_token": caching.CSRF_MARKER}),
    )
    return caching.with_csrf(request, content)


PROPOSAL_CONTENT = "www/selection/_proposal_content.html"


@login_required
def proposal_page(request, pk: int):
    committee = _committee_or_404(request.user, pk)
    if request.method == "POST":
        proposal = services.latest_proposal(committee)
        if "reason" in request.POST:
            if request.access.committee_region is None:
                raise PermissionDenied("Seuls les instructeurs du comité s'écartent de sa proposition.")
            return _override(request, committee, proposal)
        if request.access.committee_region is None:
            raise PermissionDenied("Seuls les instructeurs du comité demandent une proposition.")
        form = ProposalForm(request.POST, initial=_initial(committee, proposal))
        if form.is_valid():
            try:
                services.make_proposal(request.user, committee, form.settings())
            except services.SelectionError as error:
                messages.error(request, str(error))
            return redirect("www:selection_proposal", pk=committee.pk)
        # Refused: the form as sent, with its errors.
        context = _proposal_context(request, committee, services.figures_stamp(committee), proposal, form)
        content = render_to_string(PROPOSAL_CONTENT, context, request)
    else:
        # The candidates, the proposal and the envelope's figures: made once per state of their data.
        stamp = services.figures_stamp(committee)

        def make_context():
            proposal = services.latest_proposal(committee)
            form = ProposalForm(initial=_initial(committee, proposal))
            return _proposal_context(request, committee, stamp, proposal, form)

        content = cached_content(request, committee, stamp, PROPOSAL_CONTENT, make_context)
    return render(request, "www/selection/proposal.html", {"committee": committee, "content": content})


def _proposal_context(request, committee, stamp: str, proposal, form) -> dict:
    _, values = rules.default_settings(committee.date)
    decided = set(committee.items.exclude(decision="").values_list("dossier__reference", flat=True))
    return {
        "committee": committee,
        "candidacy": services.committee_candidacy(request.user, committee, stamp),
        "proposal": proposal,
        "result": proposal.result if proposal else None,
        "rows": _rows_with_overrides(proposal, decided),
        "form": form,
        "figures": services.committee_figures(committee, stamp),
        "sources": {name: str(value.reference) for name, value in values.items()},
        "may_propose": request.access.committee_region is not None,
    }


@login_required
def committee_chart(request, pk: int, name: str):
    """The committee's envelope figures as SVG bars: by territory or by sector, already engaged and proposed."""
    committee = _committee_or_404(request.user, pk)
    figures = services.committee_figures(committee)
    if name == "territoires":
        rows, title = figures.territories, "Déjà engagé et proposé par territoire"
    elif name == "secteurs":
        rows, title = figures.sectors, "Déjà engagé et proposé par secteur"
    else:
        raise Http404("Graphique inconnu")
    svg = bars_svg(
        title,
        [f"{row['code']} {row['name']}" for row in rows],
        {"Déjà engagé": [row["engaged_eur"] for row in rows], "Proposé": [row["proposed_eur"] for row in rows]},
        formatter=euros_label,
        horizontal=True,
    )
    return svg_response(svg)


def committee_summary(committee, stamp: str | None = None) -> dict:
    """What the committee's page shows of its envelope (one include in committees/detail.html)."""
    return {"selection": services.committee_figures(committee, stamp)}


# ---------------------------------------------------------------------------------------------------------------
# Campaign what-if (CNSA, read-only).


class WhatIfForm(DsfrBaseForm):
    campaign = forms.ChoiceField(label="Campagne")
    parameter = forms.ChoiceField(label="Paramètre à changer", required=False)
    value = forms.DecimalField(
        label="Valeur du brouillon", min_value=0, max_value=MAX_AMOUNT_EUR, decimal_places=4, required=False
    )
    draft = forms.CharField(
        label="Ou un brouillon de paramètres (YAML)",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Une table « valeurs: », un paramètre de la campagne et sa valeur par ligne, par exemple "
        "« funding/usage.acquisition_full_rate: 6000 » (DECISION D-WHATIF-DRAFT).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        campaigns = list(reversed(available_campaigns()))
        self.fields["campaign"].choices = [(c, c) for c in campaigns]
        self.fields["parameter"].choices = [("", "—")] + [
            pair for c in campaigns for pair in services.whatif_parameters(c)
        ]

    def clean(self):
        """The changes to replay: the draft's, then the one parameter changed in the form (it wins)."""
        data = super().clean()
        name, value, campaign = data.get("parameter"), data.get("value"), data.get("campaign")
        if not campaign:
            return data
        changes: dict[str, int | float] = {}
        if data.get("draft", "").strip():
            try:
                changes = services.read_draft(data["draft"], campaign, "Brouillon")
            except services.SelectionError as error:
                raise forms.ValidationError(str(error)) from None
        if bool(name) != (value is not None):
            raise forms.ValidationError("Choisissez un paramètre et sa valeur de brouillon, ou aucun des deux.")
        if name:
            if not name.startswith(f"esms_numerique/{campaign}/"):
                raise forms.ValidationError("Ce paramètre n'est pas de cette campagne.")
            unit = default_tree().get(name).unit
            if unit == "share":
                if value > 1:
                    raise forms.ValidationError("Une part est comprise entre 0 et 1.")
                changes[name] = float(value)
            elif value != int(value):
                raise forms.ValidationError("Ce paramètre prend une valeur entière.")
            else:
                changes[name] = int(value)
        data["changes"] = changes
        return data


@login_required
def whatif_page(request):
    """A campaign's filed dossiers replayed with a draft (one parameter of the form, a YAML draft, or both; nothing:
    the parameters in force, every difference 0): totals by desk, region and sector, the dossiers whose amount or
    admissibility moves, also as XLSX. Nothing is written."""
    if not (request.access.is_national or request.access.is_admin):
        raise PermissionDenied("La simulation de campagne est réservée à la CNSA.")
    query = request.GET.copy()
    as_xlsx = query.pop("format", [""])[-1] == "xlsx"
    form = WhatIfForm(query or None)
    result = None
    if query and form.is_valid():
        data = form.cleaned_data
        result = services.replay(data["campaign"], data["changes"])
        if as_xlsx:
            response = HttpResponse(whatif_workbook(result), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="simulation-campagne-{data["campaign"]}.xlsx"'
            return response
    return render(
        request,
        "www/selection/whatif.html",
        {"form": form, "result": result, "export_query": query.urlencode() if result else ""},
    )


# ---------------------------------------------------------------------------------------------------------------
# Territorial coverage (CNSA: every region; an ARS: its departments).


@login_required
def coverage_page(request):
    """ESSMS funded, proposed and never funded, by territory and by sector, with a tile map of the regions."""
    access = request.access
    if access.is_national or access.is_admin:
        region = None
    elif access.committee_region:
        region = access.committee_region
    else:
        raise PermissionDenied("La couverture territoriale est réservée aux ARS et à la CNSA.")
    result, svg = coverage.cached(region, clock.today())
    # The SVG is built in coverage.map_svg, every text in it escaped there.
    svg = mark_safe(svg)
    return render(request, "www/selection/coverage.html", {"coverage": result, "map": svg, "region": region})
