"""The trajectory of a dossier towards the usage targets: each rate at each measurement date, for one ESSMS or for
the whole project. A project's rate weighs each ESSMS by the rate's denominator (people accompanied for U-ACTIVE,
U-MSS and U-DMP, active dossiers for U-PP and U-AGENDA), as if the project were one ESSMS. A rate over fewer than the
small-count threshold is not shown (D-SMALL-COUNTS)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from esms_numerique import clock
from esms_numerique.rules.context import CampaignContext

from .compute import RATE_FIELDS, RULES
from .publication import SECRET, base, small_count_threshold

LABELS = {
    "active_rate": "Dossiers actifs",
    "pp_rate": "Avec projet personnalisé",
    "agenda_rate": "Avec événement d'agenda",
    "mss_rate": "MSSanté",
    "dmp_rate": "DMP",
}


@dataclass(frozen=True)
class Point:
    date: dt.date
    rates: dict[str, float]  # keyed by RATE_FIELDS, fractions
    essms_count: int
    bases: dict[str, int] = field(default_factory=dict)  # what each rate is a share of, summed over the ESSMS
    threshold: int = 0  # D-SMALL-COUNTS: a rate over a smaller base is not shown

    def shown(self, name: str) -> float | None:
        """The rate as it may be shown, None under the small-count threshold."""
        return None if self.bases.get(name, self.threshold) < self.threshold else self.rates[name]

    @property
    def cells(self) -> list[str]:
        return [SECRET if self.shown(name) is None else f"{self.rates[name] * 100:.0f} %" for name in RATE_FIELDS]


def trajectory(dossier, finess: str | None = None) -> list[Point]:
    by_date = defaultdict(list)
    measurements = dossier.measurements.all()
    if finess:
        measurements = measurements.filter(finess_et=finess)
    for m in measurements.order_by("measurement_date"):
        by_date[m.measurement_date].append(m)
    points = []
    threshold = small_count_threshold()
    for on, rows in by_date.items():
        rates, bases = {}, {}
        for name in RATE_FIELDS:
            weight = [base(name, r.people_accompanied, r.active_dossiers) for r in rows]
            total = bases[name] = sum(weight)
            rates[name] = (
                round(sum(getattr(r, name) * w for r, w in zip(rows, weight, strict=True)) / total, 6) if total else 0.0
            )
        points.append(Point(on, rates, len(rows), bases, threshold))
    return points


def targets(dossier, on: dt.date | None = None) -> dict[str, float]:
    """The campaign's targets in force on the date (the last measurement's, else the platform's today)."""
    context = CampaignContext(dossier.campaign, on or clock.today())
    return {name: context.get(f"usage_targets.{name}").value for name in RATE_FIELDS}


def targets_caption(values: dict[str, float]) -> str:
    return " ; ".join(f"{rule} {values[name] * 100:.0f} %" for name, rule in zip(RATE_FIELDS, RULES, strict=True))
