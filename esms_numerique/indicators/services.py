"""Recording the measurements a porteur uploads for its dossier's ESSMS, and reading whether the targets are met.
The targets are re-evaluated here against the campaign's parameters: the uploaded verdicts are not trusted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from esms_numerique.audit.services import record
from esms_numerique.dossiers.access import acting_role
from esms_numerique.dossiers.enums import Role, State
from esms_numerique.rules.context import CampaignContext

from .compute import OPTIONAL_COUNTS, RATE_FIELDS, RATES
from .models import UsageMeasurement

OPEN_STATES = (State.AVANCE_VERSEE, State.EN_DEPLOIEMENT)


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


def _measurements_of(dossier, data: dict[str, Any], user, funded: set[str]) -> list[UsageMeasurement]:
    """The rows of one measure (a date, a window, one object per FINESS ET), targets re-evaluated here."""
    on, start, end = _date(data, "measurement_date"), _date(data, "window_start"), _date(data, "window_end")
    if not start <= end == on:
        raise MeasurementError(f"mesure du {on:%d/%m/%Y} : la fenêtre doit finir à la date de mesure")
    essms = data.get("essms")
    if not isinstance(essms, dict) or not essms:
        raise MeasurementError(f"mesure du {on:%d/%m/%Y}, champ « essms » : un objet par FINESS ET est attendu")
    foreign = sorted(set(essms) - funded)
    if foreign:
        raise MeasurementError(f"FINESS ET {', '.join(foreign)} : n'appartient pas aux ESSMS financés du dossier")
    context = CampaignContext(dossier.campaign, on)
    rows = []
    for finess, measure in essms.items():
        try:
            rates = {name: float(measure[name]) for name in RATE_FIELDS}
            counts = {name: int(measure[name]) for name in ("people_accompanied", "active_dossiers")}
            # U-OPTIONAL: counted only when the OG's export had the file.
            optional = {name: int(measure[name]) for name in OPTIONAL_COUNTS.values() if measure.get(name) is not None}
        except (KeyError, TypeError, ValueError) as error:
            raise MeasurementError(
                f"mesure du {on:%d/%m/%Y}, FINESS ET {finess} : mesure incomplète ou illisible ({error})"
            ) from None
        # Shares of people or dossiers lie between 0 and 1; the MSSanté rate counts messages per person.
        if any(v < 0 for v in [*rates.values(), *counts.values(), *optional.values()]) or any(
            rates[n] > 1 for n in RATE_FIELDS if n != "mss_rate"
        ):
            raise MeasurementError(
                f"mesure du {on:%d/%m/%Y}, FINESS ET {finess} : un taux ou un compte est hors des bornes "
                "(taux en fractions, 0,75 pour 75 %)"
            )
        met = {rule: rates[name] >= context.get(f"usage_targets.{name}").value for name, rule in RATES.items()}
        rows.append(
            UsageMeasurement(
                dossier=dossier,
                finess_et=finess,
                measurement_date=on,
                window_start=start,
                window_end=end,
                targets_met=met,
                recorded_by=user,
                **rates,
                **counts,
                **optional,
            )
        )
    return rows


def record_measurements(user, dossier, data: dict[str, Any]) -> RecordedMeasurements:
    """D-USAGE-UPLOAD: the measure and its monthly series, if any. Every ESSMS must belong to the dossier and every
    rate be a fraction; a date already recorded is kept as it was and reported; the new dates are all recorded or
    none. A file with no new date is refused."""
    if acting_role(user, dossier) != Role.PORTEUR:
        raise PermissionDenied("Seul le porteur du dossier dépose ses mesures d'usage.")
    if dossier.state not in OPEN_STATES:
        raise MeasurementError(
            f"Le dossier est « {dossier.state_label} » : les mesures se déposent pendant le déploiement."
        )
    if not isinstance(data, dict):
        raise MeasurementError("un objet JSON (résultat de « esms indicateurs calculer ») est attendu")
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
    return RecordedMeasurements(rows=created, dates=list(new), kept=sorted(known))


def final_status(dossier) -> dict[str, Any]:
    """At the last measurement date: which funded ESSMS have no measurement, which miss a target."""
    last = dossier.measurements.order_by("-measurement_date").values_list("measurement_date", flat=True).first()
    if last is None:
        return {"date": None, "all_met": False, "missing": funded_essms(dossier), "unmet": {}}
    measures = {m.finess_et: m for m in dossier.measurements.filter(measurement_date=last)}
    missing = [f for f in funded_essms(dossier) if f not in measures]
    unmet = {f: m.unmet_rules for f, m in measures.items() if not m.all_met}
    return {"date": last, "all_met": not missing and not unmet, "missing": missing, "unmet": unmet}
