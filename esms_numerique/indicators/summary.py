"""The follow-up's summary of each measured dossier (DECISION D-FOLLOW-UP-SUMMARY): its last measurement date and
verdict (`DossierFollowUp`), and the active DUI of the last measurement of each of its ESSMS by region (`ActiveDui`).

At national scale (1 400 dossiers, 25 000 measurements) the follow-up page read some 9 000 last measurements and
decoded their JSON at each request; it now reads these few rows. They are written here, from the same definitions
as the full computation (`services.statuses_of`, `latest_of`), by the services that change their inputs, inside
their transaction: a measurement recorded (`services.record_measurements`), a grappe changed (its ESSMS, their
regions and the funded ESSMS: `dossiers.changes.grappe_changed`); bulk loads (the national demo) and the migration
that created them call `refresh` on every measured dossier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, QuerySet

from .models import ActiveDui, DossierFollowUp, UsageMeasurement


def latest_of(dossiers) -> QuerySet[UsageMeasurement]:
    """The last measurement of each ESSMS of each dossier (`dossiers`: a queryset or ids): none later for the same
    dossier and ESSMS (the index of the one-measurement-per-date constraint answers it)."""
    later = UsageMeasurement.objects.filter(
        dossier_id=OuterRef("dossier_id"),
        finess_et=OuterRef("finess_et"),
        measurement_date__gt=OuterRef("measurement_date"),
    )
    return UsageMeasurement.objects.filter(~Exists(later), dossier__in=dossiers)


def active_by_dossier_region(dossiers) -> dict[tuple[int, str], int]:
    """Active dossiers of the last measurement of each ESSMS, summed by (dossier, region of the ESSMS as the rules
    read it in the dossier's frozen result; "" when the result does not name it)."""
    from esms_numerique.dossiers.models import Dossier

    latest = list(latest_of(dossiers).values_list("dossier_id", "finess_et", "active_dossiers"))
    regions_of = {}
    measured = Dossier.objects.filter(pk__in={pk for pk, _, _ in latest})
    for pk, essms in measured.values_list("pk", "filed_result__essms"):
        for entry in essms or []:
            regions_of[(pk, entry["finess_et"])] = entry.get("region", "")
    by_region: dict[tuple[int, str], int] = defaultdict(int)
    for pk, finess, active in latest:
        by_region[(pk, regions_of.get((pk, finess), ""))] += active
    return dict(by_region)


def refresh(dossier_ids: Iterable[int]) -> None:
    """Rewrites the summary of these dossiers from their measurements, frozen result and ledger rows, in a bounded
    number of queries whatever their number (the caller holds the transaction)."""
    from .services import statuses_of

    ids = sorted(set(dossier_ids))
    if not ids:
        return
    statuses = statuses_of(ids)
    active = active_by_dossier_region(ids)
    DossierFollowUp.objects.filter(dossier_id__in=ids).delete()
    ActiveDui.objects.filter(dossier_id__in=ids).delete()
    DossierFollowUp.objects.bulk_create(
        [
            DossierFollowUp(dossier_id=pk, measured_on=status["date"], targets_met=status["all_met"])
            for pk, status in statuses.items()
            if status["date"] is not None
        ],
        batch_size=2000,
    )
    ActiveDui.objects.bulk_create(
        [
            ActiveDui(dossier_id=pk, region=region, active_dossiers=count)
            for (pk, region), count in sorted(active.items())
        ],
        batch_size=2000,
    )


def refresh_all() -> int:
    """The summary of every measured dossier (bulk loads); the number of dossiers."""
    ids = list(UsageMeasurement.objects.order_by().values_list("dossier_id", flat=True).distinct())
    refresh(ids)
    return len(ids)


def on_grappe_changed(sender, dossier, actor: str, **kwargs) -> None:
    """A retained grappe lost, swapped or gained an ESSMS (dossiers.changes), inside the change's transaction: the
    funded ESSMS and the regions the summary reads are new."""
    refresh([dossier.pk])
