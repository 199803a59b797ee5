"""The ARS and national follow-up: projects at risk, active DUI by region against the national target, the
envelope engaged and paid — over the dossiers the user may see.

At national scale (1 400 dossiers, 25 000 measurements) nothing here reads a dossier's JSON fields (20 KB on average)
that a rule does not need, nor a measurement that is not the last of its ESSMS: each figure is read in SQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from esms_numerique import clock
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.services import deadline
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree

from .models import UsageMeasurement
from .services import final_statuses

FOLLOWED = (State.CONVENTION_SIGNEE, State.AVANCE_VERSEE, State.EN_DEPLOIEMENT, State.CIBLES_MESUREES)
# What the follow-up shows of a dossier is in its columns; the deadline (F-PAY) reads its frozen result.
UNREAD = ("grappe", "result")
HEAVY = ("grappe", "result", "filed_result")


def at_risk(dossiers) -> list[dict[str, Any]]:
    """D-AT-RISK: dossiers being deployed whose deadline is passed or near (`follow_up.at_risk_days`), or whose last
    measurement misses a target."""
    today = clock.today()
    warning = dt.timedelta(days=default_tree().get("follow_up.at_risk_days").in_force(today).value)
    rows = []
    followed = list(dossiers.filter(state__in=FOLLOWED).defer(*UNREAD))
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


def _latest(dossiers) -> QuerySet[UsageMeasurement]:
    """The last measurement of each ESSMS of each dossier: none later for the same dossier and ESSMS (the index of
    the one-measurement-per-date constraint answers it)."""
    later = UsageMeasurement.objects.filter(
        dossier_id=OuterRef("dossier_id"),
        finess_et=OuterRef("finess_et"),
        measurement_date__gt=OuterRef("measurement_date"),
    )
    return UsageMeasurement.objects.filter(~Exists(later), dossier__in=dossiers)


def latest_measurements(dossiers) -> list[UsageMeasurement]:
    """The last measurement of each ESSMS of each dossier, by dossier reference and FINESS ET."""
    return list(
        _latest(dossiers)
        .select_related("dossier")
        .defer(*(f"dossier__{name}" for name in HEAVY))
        .order_by("dossier__reference", "finess_et")
    )


def active_dui_by_region(dossiers) -> dict[str, Any]:
    """Active dossiers of the last measurement of each ESSMS, summed by the ESSMS's region (as the rules read it in
    the dossier's frozen result), against U-NATIONAL."""
    geo = geography()
    latest = list(_latest(dossiers).values_list("dossier_id", "finess_et", "active_dossiers"))
    regions_of = {}
    measured = Dossier.objects.filter(pk__in={pk for pk, _, _ in latest})
    for pk, essms in measured.values_list("pk", "filed_result__essms"):
        for entry in essms or []:
            regions_of[(pk, entry["finess_et"])] = entry.get("region", "")
    by_region: dict[str, int] = defaultdict(int)
    for pk, finess, active in latest:
        by_region[regions_of.get((pk, finess), "")] += active
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
    amounts = dossiers.exclude(engaged_eur=None).values_list(
        "pk", "pivot_region", "engaged_eur", "advance_paid_eur", "balance_paid_eur"
    )
    for _, region, engaged, advance, balance in amounts:
        row = regions[region]
        row["engaged"] += engaged
        row["paid"] += (advance or 0) + (balance or 0)
    geo = geography()
    return [
        {
            "region": code,
            "name": geo.region_name(code),
            **row,
        }
        for code, row in sorted(regions.items())
    ]


def conflicts(dossiers) -> dict[str, list[FundedEssms]]:
    """ledger.conflicts over the ESSMS of these dossiers (one definition of a clash and of what it reads)."""
    return ledger.conflicts(FundedEssms.objects.filter(dossier__in=dossiers))
