"""The ARS and national follow-up page, and its CSV export."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render

from esms_numerique.dossiers.access import role_of, visible_dossiers
from esms_numerique.dossiers.enums import Role
from esms_numerique.indicators.dashboard import active_dui_by_region, at_risk, envelope

FOLLOWERS = (Role.ARS, Role.NATIONAL, Role.OBSERVER, Role.ADMIN)


def _dossiers(request):
    if role_of(request.user) not in FOLLOWERS:
        raise PermissionDenied("Le suivi est réservé aux ARS, GRADeS et équipes nationales.")
    return visible_dossiers(request.user)


@login_required
def follow_up(request):
    dossiers = _dossiers(request)
    return render(
        request,
        "www/dashboard.html",
        {
            "at_risk": at_risk(dossiers),
            "active": active_dui_by_region(dossiers),
            "envelope": envelope(dossiers),
        },
    )


@login_required
def follow_up_csv(request):
    dossiers = _dossiers(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="suivi-esms-numerique.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(["Région", "DUI actifs (dernière mesure)", "Montant engagé (€)", "Montant versé (€)"])
    active = {row["region"]: row["active"] for row in active_dui_by_region(dossiers)["rows"]}
    money = {row["region"]: row for row in envelope(dossiers)}
    for region in sorted(set(active) | set(money)):
        writer.writerow(
            [
                region,
                active.get(region, 0),
                money.get(region, {}).get("engaged", 0),
                money.get(region, {}).get("paid", 0),
            ]
        )
    return response
