from __future__ import annotations

import re

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError
from esms_numerique.rules.explain import DESKS
from esms_numerique.rules.inputs import refuse_oversized_grappe
from esms_numerique.rules.results import VERDICT_LABELS

from .forms import SimulationForm
from .home import sections_for
from .limits import throttled

ESSMS_FIELD = re.compile(r"champ « essms\[(\d+)\]\.([\w.]+) »")
COLUMN_LABELS = {
    "finess_et": "FINESS ET",
    "sector": "secteur",
    "operation": "opération",
    "department": "département",
    "og_essms_count": "nombre d'ESSMS de l'OG",
    "saad_hours.medico_social": "heures SAAD médico-sociales",
    "saad_hours.total": "heures SAAD totales",
}


def home(request):
    """The public landing (simulator, SONS checklist) for a visitor; for a signed-in person, what awaits them."""
    context = {}
    if request.user.is_authenticated:
        context = {
            "sections": sections_for(request),
            "role_label": request.access.role.label if request.access.role else "",
        }
    return render(request, "www/home.html", context)


def _errors_by_line(messages: list[str], essms: list[dict]) -> list[str]:
    """Input errors name `essms[i].field`; on the page, the user knows line numbers."""

    def to_line(match: re.Match) -> str:
        index, field = int(match.group(1)), match.group(2)
        if index >= len(essms):
            return match.group(0)
        return f"ligne {essms[index]['_line']}, {COLUMN_LABELS.get(field, field)}"

    return [ESSMS_FIELD.sub(to_line, message) for message in messages]


def run_form(form) -> tuple:
    """The simulator's result for a valid form, or the French errors by line."""
    payload, errors = form.simulation_input()
    if errors:
        return None, errors
    try:
        refuse_oversized_grappe(payload)  # before the registry completes each line (DECISION D-LIMITS)
        return simulate_with_registry(payload), []
    except InputError as error:
        return None, _errors_by_line(error.messages, payload["essms"])


def render_preview(request, result, errors):
    """The partial the page swaps in while the user types (htmx)."""
    return render(
        request,
        "www/_preview.html",
        {
            "result": result,
            "errors": errors,
            "desk_label": DESKS.get(result.desk) if result and result.desk else None,
        },
    )


@require_http_methods(["POST"])
@throttled("simulator_page")
def simulator_preview(request):
    form = SimulationForm(request.POST)
    if not form.is_valid():
        return render_preview(request, None, [])
    return render_preview(request, *run_form(form))


@require_http_methods(["GET", "POST"])
@throttled("simulator_page")
def simulator(request):
    form = SimulationForm(request.POST or None)
    result, errors = None, []
    if request.method == "POST" and form.is_valid():
        result, errors = run_form(form)
    context = {
        "form": form,
        "result": result,
        "errors": errors,
        "desk_label": DESKS.get(result.desk) if result and result.desk else None,
        "verdict_labels": VERDICT_LABELS,
    }
    return render(request, "www/simulator.html", context, status=400 if errors else 200)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
