from __future__ import annotations

import re

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from esms_numerique import clock
from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError
from esms_numerique.rules.explain import DESKS
from esms_numerique.rules.inputs import refuse_oversized_grappe
from esms_numerique.rules.parameters import default_tree
from esms_numerique.rules.results import VERDICT_LABELS

from .charts import count_label as nombre
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

    return [ESSMS_FIELD.sub(to_line, message).replace("champ « porteur.finess_ej » : l", "L") for message in messages]


def anonymous_bounds(request, text: str) -> list[str]:
    """A visitor without an account pastes at most so many lines and characters (dated parameters; DECISION
    D-ANONYMOUS-BOUNDS): a simulation costs the registry one look-up per line. Signed-in people keep the
    platform's cap (D-LIMITS)."""
    if request.user.is_authenticated:
        return []
    tree, today = default_tree(), clock.today()
    max_lines = tree.get("limits.anonymous_simulation_max_essms").in_force(today).value
    max_chars = tree.get("limits.anonymous_simulation_max_chars").in_force(today).value
    lines = sum(1 for line in text.splitlines() if line.strip())
    errors = []
    if len(text) > max_chars:
        errors.append(
            f"La liste d'ESSMS fait {nombre(len(text))} caractères : le simulateur sans compte en accepte "
            f"{nombre(max_chars)} au plus. Connectez-vous, ou utilisez l'API (POST /api/simulation)."
        )
    if lines > max_lines:
        errors.append(
            f"La liste compte {nombre(lines)} lignes d'ESSMS : le simulateur sans compte en accepte "
            f"{nombre(max_lines)} au plus. Connectez-vous pour simuler une grappe plus grande, ou utilisez l'API "
            "(POST /api/simulation)."
        )
    return errors


def run_form(form, request=None) -> tuple:
    """The simulator's result for a valid form, or the French errors by line."""
    if request is not None:
        refused = anonymous_bounds(request, form.cleaned_data["essms"])
        if refused:
            return None, refused
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
    return render_preview(request, *run_form(form, request))


@require_http_methods(["GET", "POST"])
@throttled("simulator_page")
def simulator(request):
    form = SimulationForm(request.POST or None)
    result, errors = None, []
    if request.method == "POST" and form.is_valid():
        result, errors = run_form(form, request)
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
