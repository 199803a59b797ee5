from __future__ import annotations

import re

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.errors import InputError
from esms_numerique.rules.explain import DESKS
from esms_numerique.rules.results import VERDICT_LABELS

from .forms import SimulationForm

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
    return render(request, "www/home.html")


def _errors_by_line(messages: list[str], essms: list[dict]) -> list[str]:
    """Input errors name `essms[i].field`; on the page, the user knows line numbers."""

    def to_line(match: re.Match) -> str:
        index, field = int(match.group(1)), match.group(2)
        if index >= len(essms):
            return match.group(0)
        return f"ligne {essms[index]['_line']}, {COLUMN_LABELS.get(field, field)}"

    return [ESSMS_FIELD.sub(to_line, message) for message in messages]


@require_http_methods(["GET", "POST"])
def simulator(request):
    form = SimulationForm(request.POST or None)
    result, errors = None, []
    if request.method == "POST" and form.is_valid():
        payload, errors = form.simulation_input()
        if not errors:
            try:
                result = simulate_with_registry(payload)
            except InputError as error:
                errors = _errors_by_line(error.messages, payload["essms"])
    context = {
        "form": form,
        "result": result,
        "errors": errors,
        "desk_label": DESKS.get(result.desk) if result and result.desk else None,
        "verdict_labels": VERDICT_LABELS,
    }
    return render(request, "www/simulator.html", context, status=400 if errors else 200)
