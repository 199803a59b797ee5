"""The ARS and national follow-up: projects at risk, active DUI by region against the national target, the
envelope engaged and paid — over the dossiers the user may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from esms_numerique import clock
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import deadline
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree

from .models import UsageMeasurement
from .services import final_statuses

FOLLOWED = (State.CONVENTION_SIGNEE, State.AVANCE_VERSEE, State.EN_DEPLOIEMENT, State.CIBLES_MESUREES)


def at_risk(dossiers) -> list[dict[str, Any]]:
    """D-AT-RISK: dossiers being deployed whose deadline is passed or near (`follow_up.at_risk_days`), or whose last
    measurement misses a target."""
    today = clock.today()
    warning = dt.timedelta(days=default_tree().get("follow_up.at_risk_days").in_force(today).value)
    rows = []
    followed = list(dossiers.filter(state__in=FOLLOWED))
    statuses = final_statuses(followed)
    for dossier in followed:
        due = deadline(dossier)
        status = statuses[dossier.pk]
        near = due is not None and due["due"] <= today + warning
        unmet = status["date"] is not None and not status["all_met"]
        if near or unmet:
            rows.append(
                {
                    "dossier": dossier,
                    "due": due,
                    "status": status,
                    "reason": "échéance dépassée"
                    if due and due["overdue"]
                    else ("échéance proche" if near else "cibles non atteintes"),
                }
            )
    return rows


def latest_measurements(dossiers) -> list[UsageMeasurement]:
    """The last measurement of each ESSMS of each dossier."""
    latest: dict[tuple[int, str], UsageMeasurement] = {}
    for m in (
        UsageMeasurement.objects.filter(dossier__in=dossiers).select_related("dossier").order_by("measurement_date")
    ):
        latest[(m.dossier_id, m.finess_et)] = m
    return sorted(latest.values(), key=lambda m: (m.dossier.reference, m.finess_et))


def active_dui_by_region(dossiers) -> dict[str, Any]:
    """Active dossiers of the last measurement of each ESSMS, summed by region, against U-NATIONAL."""
    geo = geography()
    latest = {(m.dossier_id, m.finess_et): m for m in latest_measurements(dossiers)}
    regions_of = {}
    for dossier in dossiers:
        for essms in (dossier.filed_result or {}).get("essms", []):
            regions_of[essms["finess_et"]] = essms.get("region", "")
    by_region: dict[str, int] = defaultdict(int)
    for (_, finess), measure in latest.items():
        by_region[regions_of.get(finess, "")] += measure.active_dossiers
    target = default_tree().get("national_targets.active_dui").in_force(clock.today())
    total = sum(by_region.values())
    rows = [
        {"region": code, "name": geo.region_name(code), "active": count}
        for code, count in sorted(by_region.items(), key=lambda item: -item[1])
    ]
    return {
        "rows": rows,
        "total": total,
        "target": target.value,
        "source": str(target.reference),
        "share": total / target.value if target.value else 0,
    }


def envelope(dossiers) -> list[dict[str, Any]]:
    """Amounts engaged and paid (advance + balance) by pivot region."""
    regions: dict[str, dict[str, int]] = defaultdict(lambda: {"engaged": 0, "paid": 0})
    for dossier in dossiers.exclude(engaged_eur=None):
        row = regions[dossier.pivot_region]
        row["engaged"] += dossier.engaged_eur
        row["paid"] += (dossier.advance_paid_eur or 0) + (dossier.balance_paid_eur or 0)
    geo = geography()
    return [
        {
            "region": code,
            "name": geo.region_name(code),
            **row,
        }
        for code, row in sorted(regions.items())
    ]
