"""Recording the measurements a porteur uploads for its dossier's ESSMS, and reading whether the targets are met.
The targets are re-evaluated here against the campaign's parameters: the uploaded verdicts are not trusted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from esms_numerique.audit.services import record
from esms_numerique.dossiers.access import acting_role
from esms_numerique.dossiers.enums import Role, State
from esms_numerique.rules.context import CampaignContext

from .compute import RATES
from .models import RATE_FIELDS, UsageMeasurement

OPEN_STATES = (State.AVANCE_VERSEE, State.EN_DEPLOIEMENT)


class MeasurementError(ValueError):
    pass


def funded_essms(dossier) -> list[str]:
    return [e["finess_et"] for e in (dossier.filed_result or {}).get("essms", []) if e.get("fundable", True)]


def _date(data: dict[str, Any], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(data[key]))
    except (KeyError, ValueError):
        raise MeasurementError(f"champ « {key} » : date AAAA-MM-JJ attendue") from None


def record_measurements(user, dossier, data: dict[str, Any]) -> list[UsageMeasurement]:
    """All of the file or nothing: every ESSMS must belong to the dossier, every rate be a fraction."""
    if acting_role(user, dossier) != Role.PORTEUR:
        raise PermissionDenied("Seul le porteur du dossier dépose ses mesures d'usage.")
    if dossier.state not in OPEN_STATES:
        raise MeasurementError(
            f"Le dossier est « {dossier.state_label} » : les mesures se déposent pendant le déploiement."
        )
    on, start, end = _date(data, "measurement_date"), _date(data, "window_start"), _date(data, "window_end")
    essms = data.get("essms")
    if not isinstance(essms, dict) or not essms:
        raise MeasurementError("champ « essms » : un objet par FINESS ET est attendu")
    funded = set(funded_essms(dossier))
    foreign = sorted(set(essms) - funded)
    if foreign:
        raise MeasurementError(f"FINESS ET {', '.join(foreign)} : n'appartient pas aux ESSMS financés du dossier")
    if dossier.measurements.filter(measurement_date=on).exists():
        raise MeasurementError(f"Des mesures du {on:%d/%m/%Y} sont déjà enregistrées pour ce dossier.")
    context = CampaignContext(dossier.campaign, on)
    rows = []
    for finess, measure in essms.items():
        try:
            rates = {name: float(measure[name]) for name in RATE_FIELDS}
            counts = {name: int(measure[name]) for name in ("people_accompanied", "active_dossiers")}
        except (KeyError, TypeError, ValueError) as error:
            raise MeasurementError(f"FINESS ET {finess} : mesure incomplète ou illisible ({error})") from None
        # Shares of people or dossiers lie between 0 and 1; the MSSanté rate counts messages per person.
        if any(v < 0 for v in rates.values()) or any(rates[n] > 1 for n in RATE_FIELDS if n != "mss_rate"):
            raise MeasurementError(f"FINESS ET {finess} : un taux est hors des bornes (fractions, 0,75 pour 75 %)")
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
            )
        )
    with transaction.atomic():
        UsageMeasurement.objects.bulk_create(rows)
        record(
            user.get_username(),
            "record_measurements",
            "Dossier",
            dossier.reference,
            after={"date": on.isoformat(), "essms": sorted(essms)},
        )
    return rows


def final_status(dossier) -> dict[str, Any]:
    """At the last measurement date: which funded ESSMS have no measurement, which miss a target."""
    last = dossier.measurements.order_by("-measurement_date").values_list("measurement_date", flat=True).first()
    if last is None:
        return {"date": None, "all_met": False, "missing": funded_essms(dossier), "unmet": {}}
    measures = {m.finess_et: m for m in dossier.measurements.filter(measurement_date=last)}
    missing = [f for f in funded_essms(dossier) if f not in measures]
    unmet = {f: [rule for rule, ok in m.targets_met.items() if not ok] for f, m in measures.items() if not m.all_met}
    return {"date": last, "all_met": not missing and not unmet, "missing": missing, "unmet": unmet}
