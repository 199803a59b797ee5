"""The ARS and national follow-up: projects at risk, active DUI by region against the national target, the
envelope engaged and paid — over the dossiers the user may see.

At national scale (1 400 dossiers, 25 000 measurements) nothing here reads a dossier's JSON fields (20 KB on average)
that a rule does not need, nor a measurement that is not the last of its ESSMS: each figure is read in SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from esms_numerique import caching, clock
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import deadline, overdue
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree

from .models import ActiveDui, UsageMeasurement
from .services import final_statuses
from .summary import latest_of

FOLLOWED = (State.CONVENTION_SIGNEE, State.AVANCE_VERSEE, State.EN_DEPLOIEMENT, State.CIBLES_MESUREES)
# What the follow-up shows of a dossier is in its columns; the deadline (F-PAY) reads its frozen result.
UNREAD = ("grappe", "result")
HEAVY = ("grappe", "result", "filed_result")
# The newest dossiers first (the dossiers' order), then by id: dossiers loaded at once share their creation time.
AT_RISK_ORDER = ("-created_at", "-id")


def at_risk(dossiers) -> list[dict[str, Any]]:
    """D-AT-RISK: dossiers being deployed whose deadline is passed or near (`follow_up.at_risk_days`), or whose last
    measurement misses a target."""
    today = clock.today()
    warning = dt.timedelta(days=default_tree().get("follow_up.at_risk_days").in_force(today).value)
    rows = []
    followed = list(dossiers.filter(state__in=FOLLOWED).defer(*UNREAD).order_by(*AT_RISK_ORDER))
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
                    "reason": reason(due and due["due"], dossier.targets_met_on, near),
                }
            )
    return rows


def reason(due: dt.date | None, targets_met_on: dt.date | None, near: bool) -> str:
    """D-AT-RISK: why a dossier is at risk, as `at_risk` says it (`deadline`'s « overdue » included)."""
    if due is not None and overdue(due, targets_met_on):
        return "échéance dépassée"
    return "échéance proche" if near else "cibles non atteintes"


def at_risk_summary(dossiers) -> list[dict[str, Any]]:
    """`at_risk` read in one query (DECISION D-FOLLOW-UP-SUMMARY): the deadline from the dossier's list columns
    (`deadline_on`: `next_deadline`, which is `deadline` in these states; D-LIST-COLUMNS), the last measurement's
    verdict from the follow-up's summary. Reference, title, reason and due date of each dossier, in `at_risk`'s
    order."""
    today = clock.today()
    limit = today + dt.timedelta(days=default_tree().get("follow_up.at_risk_days").in_force(today).value)
    rows = (
        dossiers.filter(state__in=FOLLOWED)
        .order_by(*AT_RISK_ORDER)
        .filter(Q(deadline_on__lte=limit) | Q(follow_up__targets_met=False))
        .values_list("reference", "title", "deadline_on", "targets_met_on")
    )
    return [
        {
            "reference": reference,
            "title": title,
            "due": due,
            "reason": reason(due, met_on, due is not None and due <= limit),
        }
        for reference, title, due, met_on in rows
    ]


def latest_measurements(dossiers) -> list[UsageMeasurement]:
    """The last measurement of each ESSMS of each dossier, by dossier reference and FINESS ET."""
    return list(
        latest_of(dossiers)
        .select_related("dossier")
        .defer(*(f"dossier__{name}" for name in HEAVY))
        .order_by("dossier__reference", "finess_et")
    )


def _active(by_region: dict[str, int]) -> dict[str, Any]:
    """The active DUI by region against U-NATIONAL, the most first."""
    geo = geography()
    target = default_tree().get("national_targets.active_dui").in_force(clock.today())
    total = sum(by_region.values())
    rows = [
        {"region": code, "name": geo.region_name(code), "active": count}
        for code, count in sorted(by_region.items(), key=lambda item: (-item[1], item[0]))
    ]
    return {
        "rows": rows,
        "total": total,
        "target": target.value,
        "source": str(target.reference),
        "share": total / target.value if target.value else 0,
    }


def active_dui_by_region(dossiers) -> dict[str, Any]:
    """Active dossiers of the last measurement of each ESSMS, summed by the ESSMS's region (as the rules read it in
    the dossier's frozen result), against U-NATIONAL: one aggregate over the follow-up's summary
    (DECISION D-FOLLOW-UP-SUMMARY)."""
    rows = ActiveDui.objects.filter(dossier__in=dossiers).values("region").annotate(active=Sum("active_dossiers"))
    return _active({row["region"]: row["active"] for row in rows.order_by()})


def envelope(dossiers) -> list[dict[str, Any]]:
    """Amounts engaged and paid (advance + balance) by pivot region, summed in SQL (each dossier once: a scope
    made distinct by a join is read as a subquery of ids)."""
    from esms_numerique.dossiers.models import Dossier

    scope = Dossier.objects.filter(pk__in=dossiers.values("pk")) if dossiers.query.distinct else dossiers
    rows = (
        scope.exclude(engaged_eur=None)
        .values("pivot_region")
        .annotate(
            engaged=Sum("engaged_eur"),
            paid=Sum(Coalesce("advance_paid_eur", 0) + Coalesce("balance_paid_eur", 0)),
        )
        .order_by("pivot_region")
    )
    geo = geography()
    return [
        {
            "region": row["pivot_region"],
            "name": geo.region_name(row["pivot_region"]),
            "engaged": row["engaged"],
            "paid": row["paid"],
        }
        for row in rows
    ]


def conflicts(dossiers) -> dict[str, list[FundedEssms]]:
    """ledger.conflicts over the ESSMS of these dossiers (one definition of a clash and of what it reads)."""
    return ledger.conflicts(FundedEssms.objects.filter(dossier__in=dossiers))


def conflict_lines(dossiers) -> list[tuple[str, str]]:
    """`conflicts` as the page shows them: each FINESS ET with its claims (`ledger.claims_text`), by FINESS.

    A clash is a property of an ESSMS's live claims, whoever looks: the ledger's clashes are computed once for all
    its rows (25 ms at national scale) and their lines kept in the cache under the ledger's stamp: the audit log's
    last change (every writer of the ledger, its rebuild included, writes it in an audited transaction) and its
    largest id. Its largest id alone would not do: ids are given at insert, not at commit, so a transaction committed
    later may bring lower ids than a reader already saw (DECISION D-FOLLOW-UP-SUMMARY).
    Then one query keeps the lines of the ESSMS of these dossiers."""
    lines = _ledger_conflict_lines()
    # Asked even when the ledger has no clash ("" is no FINESS): as many queries whatever the data (tests/scale).
    scope = set(
        FundedEssms.objects.filter(dossier__in=dossiers, finess_et__in=sorted(lines) or [""]).values_list(
            "finess_et", flat=True
        )
    )
    return [(finess, text) for finess, text in sorted(lines.items()) if finess in scope]


def _ledger_conflict_lines() -> dict[str, str]:
    def computed() -> dict[str, str]:
        found = ledger.conflicts(FundedEssms.objects.all())
        return {finess: ledger.claims_text(claims) for finess, claims in found.items()}

    if connection.vendor != "postgresql":
        # SQLite's ids come back after a rollback (tests): no stamp to trust, the computation each time.
        return computed()
    last_change, params = caching.last_change_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({last_change}), MAX(id) FROM {FundedEssms._meta.db_table}", params)
        stamp = repr(cursor.fetchone())
    return caching.cached("indicators:conflicts", [connection.settings_dict["NAME"], stamp], computed)
