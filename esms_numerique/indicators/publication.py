"""Statistical secrecy of the usage rates shown and exported (docs/decisions.md, D-SMALL-COUNTS): a rate over fewer
people (or active dossiers) than the dated threshold is replaced by « secret statistique ». The measure itself is
recorded as uploaded and still decides whether the targets are met."""

from __future__ import annotations

import datetime as dt

from esms_numerique import clock
from esms_numerique.rules.parameters import default_tree

SECRET = "secret statistique"
# The rates over active dossiers; the others are over the people accompanied.
PER_ACTIVE_DOSSIER = ("pp_rate", "agenda_rate")


def small_count_threshold(on: dt.date | None = None) -> int:
    """The threshold in force on the date (by default the platform's today: when the rate is published)."""
    return default_tree().get("publication.small_count_threshold").in_force(on or clock.today()).value


def base(name: str, people: int, active: int) -> int:
    """The count a rate is a share of."""
    return active if name in PER_ACTIVE_DOSSIER else people


def published(name: str, rate: float, people: int, active: int, threshold: int) -> float | None:
    """The rate, or None when its base is under the threshold."""
    return None if base(name, people, active) < threshold else rate
