"""Recording the measurements a porteur uploads for its dossier's ESSMS, and reading whether the targets are met.
The rates are recomputed here from the uploaded counts and the targets re-evaluated against the campaign's
parameters: neither the uploaded rates nor the uploaded verdicts are trusted (D-USAGE-CHECKS)."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Max, Window

from esms_numerique import clock
from esms_numerique.accounts.enums import Role
from esms_numerique.audit.services import record
from esms_numerique.dossiers.access import acting_role
from esms_numerique.dossiers.enums import State
from esms_numerique.rules.context import CampaignContext

from . import privacy
from .compute import COUNTS, OPTIONAL_COUNTS, RATE_FIELDS, RATES, Targets, _measure
from .models import UsageMeasurement

OPEN_STATES = (State.AVANCE_VERSEE, State.EN_DEPLOIEMENT)
# `esms indicateurs calculer` rounds each rate to 6 decimals: a declared rate this close to the counts' agrees.
RATE_TOLERANCE = 1e-6
MAX_COUNT = 2**31 - 1  # the database's integer columns
_NO_TARGETS = Targets(**dict.fromkeys(RATE_FIELDS, 0.0))


class MeasurementError(ValueError):
    pass


@dataclass(frozen=True)
class RecordedMeasurements:
    rows: list[UsageMeasurement]
    dates: list[dt.date]  # recorded now
    kept: list[dt.date]  # already there, left as they were

    def message(self) -> str:
        text = f"{len(self.rows)} mesure(s) d'usage enregistrée(s) ({', '.join(f'{d:%d/%m/%Y}' for d in self.dates)})"
        if self.kept:
            text += f" ; déjà enregistrées, laissées telles quelles : {', '.join(f'{d:%d/%m/%Y}' for d in self.kept)}"
        return text + "."


def funded_essms(dossier) -> list[str]:
    return [e["finess_et"] for e in (dossier.filed_result or {}).get("essms", []) if e.get("fundable", True)]


def _date(data: dict[str, Any], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(data[key]))
    except (KeyError, ValueError):
        raise MeasurementError(f"champ « {key} » : date AAAA-MM-JJ attendue") from None


def _number(value: Any) -> bool:
    """A JSON number that is one: not a boolean, not NaN nor Infinity (Python's JSON reader accepts them)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _received(measure: dict[str, Any], name: str) -> str:
    return f"reçu {json.dumps(measure[name], ensure_ascii=False)}" if name in measure else "champ absent"


def _count(measure: dict[str, Any], name: str, where: str) -> int:
    value = measure.get(name)
    if not _number(value) or value < 0 or value != int(value):
        raise MeasurementError(
            f"{where}, champ « {name} » : un nombre entier positif ou nul est attendu ({_received(measure, name)})"
        )
    if value > MAX_COUNT:
        raise MeasurementError(f"{where}, champ « {name} » : {value} dépasse le plus grand compte enregistrable")
    return int(value)


def _decimal(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")


def _within_bounds(on: dt.date, dossier) -> None:
    """D-USAGE-CHECKS: a measure tells what happened between the convention and the platform's today."""
    today = clock.today()
    if on > today:
        raise MeasurementError(
            f"mesure du {on:%d/%m/%Y} : date postérieure à la date du jour de la plateforme ({today:%d/%m/%Y})"
        )
    signed = dossier.convention_signed_on
    if signed is not None and on < signed:
        raise MeasurementError(
            f"mesure du {on:%d/%m/%Y} : date antérieure à la signature de la convention du dossier ({signed:%d/%m/%Y})"
        )


def rates_from_counts(counts: dict[str, int]) -> dict[str, float]:
    """The five U-* rates the counts (`COUNTS`) give, by compute.py's definitions, rounded as `esms indicateurs
    calculer` rounds them. compute.py also compares them with targets: the campaign's are applied by the caller."""
    measure = _measure((None, *(counts[name] for name in COUNTS)), _NO_TARGETS, ())
    return {name: measure[name] for name in RATE_FIELDS}


def _recomputed(measure: dict[str, Any], where: str) -> dict[str, Any]:
    """The counts checked and the rates recomputed from them. D-USAGE-CHECKS: a declared rate the counts do not
    give is refused, not replaced."""
    counts = {name: _count(measure, name, where) for name in COUNTS}
    computed = counts | rates_from_counts(counts)
    for name, rule in RATES.items():
        declared = measure.get(name)
        if not _number(declared):
            raise MeasurementError(
                f"{where}, champ « {name} » : un taux est attendu, en fraction ({_received(measure, name)})"
            )
        if abs(declared - computed[name]) > RATE_TOLERANCE:
            raise MeasurementError(
                f"{where}, champ « {name} » ({rule}) : taux déclaré {_decimal(declared)}, les comptes donnent "
                f"{_decimal(computed[name])} ; la plateforme recalcule chaque taux à partir des comptes et refuse un "
                "taux qui ne leur correspond pas"
            )
        # Shares of people or dossiers lie between 0 and 1; the MSSanté rate counts messages per person.
        if name != "mss_rate" and computed[name] > 1:
            raise MeasurementError(
                f"{where}, champ « {name} » ({rule}) : les comptes donnent {_decimal(computed[name])}, plus de 100 %"
            )
    return computed


def _measurements_of(dossier, data: dict[str, Any], user, funded: set[str]) -> list[UsageMeasurement]:
    """The rows of one measure (a date, a window, one object per FINESS ET), rates and targets recomputed here."""
    on, start, end = _date(data, "measurement_date"), _date(data, "window_start"), _date(data, "window_end")
    if not start <= end == on:
        raise MeasurementError(f"mesure du {on:%d/%m/%Y} : la fenêtre doit finir à la date de mesure")
    _within_bounds(on, dossier)
    essms = data.get("essms")
    if not isinstance(essms, dict) or not essms:
        raise MeasurementError(f"mesure du {on:%d/%m/%Y}, champ « essms » : un objet par FINESS ET est attendu")
    foreign = sorted(set(essms) - funded)
    if foreign:
        raise MeasurementError(f"FINESS ET {', '.join(foreign)} : n'appartient pas aux ESSMS financés du dossier")
    context = CampaignContext(dossier.campaign, on)
    rows = []
    for finess, measure in essms.items():
        where = f"mesure du {on:%d/%m/%Y}, FINESS ET {finess}"
        if not isinstance(measure, dict):
            raise MeasurementError(f"{where} : un objet de comptes et de taux est attendu")
        computed = _recomputed(measure, where)
        met = {rule: computed[name] >= context.get(f"usage_targets.{name}").value for name, rule in RATES.items()}
        # U-OPTIONAL: counted only when the OG's export had the file.
        optional = {
            name: _count(measure, name, where) for name in OPTIONAL_COUNTS.values() if measure.get(name) is not None
        }
        rows.append(
            UsageMeasurement(
                dossier=dossier,
                finess_et=finess,
                measurement_date=on,
                window_start=start,
                window_end=end,
                targets_met=met,
                recorded_by=user,
                **{name: computed[name] for name in (*RATE_FIELDS, "people_accompanied", "active_dossiers")},
                **optional,
            )
        )
    return rows


def record_measurements(user, dossier, data: dict[str, Any]) -> RecordedMeasurements:
    """D-USAGE-UPLOAD: the measure and its monthly series, if any. Every ESSMS must belong to the dossier, every date
    lie between the convention and today, every count be a whole number and every rate the one its counts give
    (D-USAGE-CHECKS); a date already recorded is kept as it was and reported; the new dates are all recorded or
    none. A file with no new date is refused."""
    if acting_role(user, dossier) != Role.PORTEUR:
        raise PermissionDenied("Seul le porteur du dossier dépose ses mesures d'usage.")
    if dossier.state not in OPEN_STATES:
        raise MeasurementError(
            f"Le dossier est « {dossier.state_label} » : les mesures se déposent pendant le déploiement."
        )
    if not isinstance(data, dict):
        raise MeasurementError("un objet JSON (résultat de « esms indicateurs calculer ») est attendu")
    # D-SMALL-COUNTS: counts per ESSMS only; a person-level or unknown field refuses the upload, named.
    refused = privacy.refusal(data)
    if refused:
        raise MeasurementError(refused)
    series = data.get("monthly") or []
    if not isinstance(series, list) or not all(isinstance(m, dict) for m in series):
        raise MeasurementError("champ « monthly » : une liste de mesures est attendue")
    funded = set(funded_essms(dossier))
    by_date: dict[dt.date, list[UsageMeasurement]] = {}
    # The main measure first: a month of the series on the same date (other window) gives way to it.
    for measure in (data, *series):
        rows = _measurements_of(dossier, measure, user, funded)
        by_date.setdefault(rows[0].measurement_date, rows)
    known = set(dossier.measurements.filter(measurement_date__in=by_date).values_list("measurement_date", flat=True))
    new = {on: rows for on, rows in sorted(by_date.items()) if on not in known}
    if not new:
        dates = ", ".join(f"{on:%d/%m/%Y}" for on in sorted(known))
        raise MeasurementError(f"Des mesures du {dates} sont déjà enregistrées pour ce dossier : rien de nouveau.")
    from .summary import refresh

    with transaction.atomic():
        created = UsageMeasurement.objects.bulk_create([row for rows in new.values() for row in rows])
        record(
            user.get_username(),
            "record_measurements",
            "Dossier",
            dossier.reference,
            after={
                "dates": [on.isoformat() for on in new],
                "essms": sorted({row.finess_et for row in created}),
                "kept": sorted(on.isoformat() for on in known),
            },
        )
        # The follow-up's summary of the dossier, in the same transaction (DECISION D-FOLLOW-UP-SUMMARY), after the
        # audit entry: its lock serialises the writers, so the summary is read from every committed change (a
        # grappe change or another upload at the same time), never rewritten from an older view of them.
        refresh([dossier.pk])
    return RecordedMeasurements(rows=created, dates=list(new), kept=sorted(known))


def _status(last_measures: list[UsageMeasurement], funded: list[str]) -> dict[str, Any]:
    """At the last measurement date (`last_measures`: the measures of that date): which funded ESSMS have no
    measurement, which miss a target."""
    if not last_measures:
        return {"date": None, "all_met": False, "missing": funded, "unmet": {}}
    measures = {m.finess_et: m for m in last_measures}
    missing = [f for f in funded if f not in measures]
    unmet = {f: m.unmet_rules for f, m in measures.items() if not m.all_met}
    return {
        "date": last_measures[0].measurement_date,
        "all_met": not missing and not unmet,
        "missing": missing,
        "unmet": unmet,
    }


def _last_measures(dossier_ids):
    """The measures of each dossier's last measurement date, in one set-based query: the latest date of each dossier
    by a window over its measures, not a subquery per measure."""
    return (
        UsageMeasurement.objects.filter(dossier_id__in=dossier_ids)
        .annotate(last_date=Window(Max("measurement_date"), partition_by=[F("dossier_id")]))
        .filter(measurement_date=F("last_date"))
        .only("dossier_id", "finess_et", "measurement_date", "targets_met")
    )


def final_status(dossier) -> dict[str, Any]:
    """At the last measurement date: which funded ESSMS have no measurement, which miss a target."""
    return _status(list(_last_measures([dossier.pk])), funded_essms(dossier))


def final_statuses(dossiers) -> dict[int, dict[str, Any]]:
    """`final_status` of many dossiers in two queries, whatever their number (the follow-up page): the funded ESSMS
    come from the ledger, the last measures from one query."""
    return statuses_of([d.pk for d in dossiers])


def statuses_of(ids: list[int]) -> dict[int, dict[str, Any]]:
    """`final_statuses` by the dossiers' ids."""
    from esms_numerique.ledger.models import FundedEssms

    funded: dict[int, list[str]] = {pk: [] for pk in ids}
    for pk, finess in (
        FundedEssms.objects.filter(dossier_id__in=ids, fundable=True, holds=True)
        .order_by("id")
        .values_list("dossier_id", "finess_et")
    ):
        funded[pk].append(finess)
    measures: dict[int, list[UsageMeasurement]] = {pk: [] for pk in ids}
    for measure in _last_measures(ids):
        measures[measure.dossier_id].append(measure)
    return {pk: _status(measures[pk], funded[pk]) for pk in ids}
