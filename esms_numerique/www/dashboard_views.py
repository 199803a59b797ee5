"""The ARS and national follow-up page, and its CSV and XLSX exports."""

from __future__ import annotations

from html import escape

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe

from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.indicators.compute import RATE_FIELDS, RULES
from esms_numerique.indicators.dashboard import (
    active_dui_by_region,
    at_risk,
    at_risk_summary,
    conflict_lines,
    envelope,
    latest_measurements,
)
from esms_numerique.indicators.publication import SECRET, small_count_threshold
from esms_numerique.rules.geography import geography

from .charts import bars_svg, euros_label, svg_response
from .exports import table_response
from .links import row_link


def _dossiers(request):
    if not request.access.follows_programme:
        raise PermissionDenied("Le suivi est réservé aux ARS, GRADeS et équipes nationales.")
    return visible_dossiers(request.user)


def regional_view(access, active: dict) -> dict | None:
    """An ARS or GRADeS reads its region's active DUI as its contribution to the national target: the texts set
    no regional target (AAP24 3.1 and 4.B name only the national 410 000; DECISION D-FOLLOW-UP-REGION)."""
    region = access.read_region
    if not region:
        return None
    count = sum(row["active"] for row in active["rows"] if row["region"] == region)
    return {
        "code": region,
        "name": geography().region_name(region),
        "active": count,
        "share": count / active["target"] if active["target"] else 0,
    }


def at_risk_items(rows: list[dict]) -> str:
    """The projects at risk as the list's items, written in one pass: with 300 projects (CNSA, issue 16), a
    template loop with a `{% url %}` and a `|date` per item cost more than all the page's queries. The link is
    reversed once (`row_link`) and each reference quoted; every text is escaped as the template would."""
    detail = row_link("www:dossier_detail")
    return mark_safe(  # every value below is escaped
        "".join(
            f'<li><a href="{escape(detail(row["reference"]))}">'
            f"{escape(row['reference'])}</a> {escape(row['title'])} — {escape(row['reason'])}"
            + (f" (échéance {row['due']:%d/%m/%Y})" if row["due"] else "")
            + "</li>"
            for row in rows
        )
    )


@login_required
def follow_up(request):
    dossiers = _dossiers(request)
    active = active_dui_by_region(dossiers)
    return render(
        request,
        "www/dashboard.html",
        {
            # The follow-up's summary (DECISION D-FOLLOW-UP-SUMMARY); the workbook lists the same projects in detail.
            "at_risk": at_risk_items(at_risk_summary(dossiers)),
            "active": active,
            "region": regional_view(request.access, active),
            "envelope": envelope(dossiers),
            # One FINESS ET, one funding: ESSMS two live dossiers (or an acquisition and a SONS order) claim.
            "conflicts": conflict_lines(dossiers),
        },
    )


@login_required
def follow_up_chart(request, name: str):
    """The page's charts as SVG images, over the same dossiers as the page."""
    dossiers = _dossiers(request)
    if name == "dui-actifs":
        rows = active_dui_by_region(dossiers)["rows"]
        svg = bars_svg(
            "DUI actifs par région (dernière mesure)",
            [row["name"] for row in rows],
            {"DUI actifs": [row["active"] for row in rows]},
            horizontal=True,
        )
    elif name == "enveloppe":
        rows = envelope(dossiers)
        svg = bars_svg(
            "Enveloppe engagée et versée par région pivot",
            [row["name"] for row in rows],
            {"Engagé": [row["engaged"] for row in rows], "Versé": [row["paid"] for row in rows]},
            formatter=euros_label,
        )
    else:
        raise Http404("Graphique inconnu")
    return svg_response(svg)


@login_required
def follow_up_export(request, fmt: str):
    """The page's numbers as tables: by region (the CSV), and in the workbook also the projects at risk and the last
    measurement of each ESSMS."""
    dossiers = _dossiers(request)
    geo = geography()
    active = {row["region"]: row["active"] for row in active_dui_by_region(dossiers)["rows"]}
    money = {row["region"]: row for row in envelope(dossiers)}
    regions = [
        [
            code,
            geo.region_name(code),
            active.get(code, 0),
            money.get(code, {}).get("engaged", 0),
            money.get(code, {}).get("paid", 0),
        ]
        for code in sorted(set(active) | set(money))
    ]
    risks = [
        [
            row["dossier"].reference,
            row["dossier"].title,
            geo.region_name(row["dossier"].pivot_region),
            row["dossier"].state_label,
            row["reason"],
            row["due"]["due"] if row["due"] else None,
            ", ".join(f"{finess} ({', '.join(rules)})" for finess, rules in row["status"]["unmet"].items()),
        ]
        for row in at_risk(dossiers)
    ]
    threshold = small_count_threshold()
    measures = [
        [
            m.dossier.reference,
            m.finess_et,
            m.measurement_date,
            m.window_start,
            m.window_end,
            m.people_accompanied,
            m.active_dossiers,
            # D-SMALL-COUNTS: a rate over too few people is not published.
            *(SECRET if m.published(name, threshold) is None else getattr(m, name) for name in RATE_FIELDS),
            "oui" if m.all_met else "non",
        ]
        for m in latest_measurements(dossiers)
    ]
    return table_response(
        fmt,
        "suivi-esms-numerique",
        {
            "Régions": (
                ["Région", "Nom", "DUI actifs (dernière mesure)", "Montant engagé (€)", "Montant versé (€)"],
                regions,
            ),
            "Projets à risque": (
                ["Dossier", "Intitulé", "ARS pivot", "État", "Motif", "Échéance", "Cibles non atteintes"],
                risks,
            ),
            "Dernières mesures": (
                [
                    "Dossier",
                    "FINESS ET",
                    "Date de mesure",
                    "Début de fenêtre",
                    "Fin de fenêtre",
                    "Personnes accompagnées",
                    "Dossiers actifs",
                    *(f"{rule} (taux)" for rule in RULES),
                    "Cibles atteintes",
                ],
                measures,
            ),
        },
    )
