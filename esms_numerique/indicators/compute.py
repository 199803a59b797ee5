"""The U-* indicators from a DUI export in the canonical layout, with DuckDB (pure Python, no Django).

Definitions, as this platform reads the texts until the ANAP guide says otherwise (docs/indicateurs.md):
- the window is the `window_months` months that end on the measurement date, both ends included
  (start = date − N months + 1 day);
- people accompanied: distinct persons present on at least one day of the window (admitted on or before its end,
  and without a definitive exit before its start; a temporary exit does not end the accompaniment);
- an active dossier concerns such a person and was updated in the window;
- with a PP: it has a projet personnalisé dated on or before the measurement date;
- with an agenda event: an event in the window;
- MSSanté rate: messages sent in the window ÷ people accompanied; DMP rate: people with at least one document fed
  to the DMP in the window ÷ people accompanied;
- active rate: active dossiers ÷ people accompanied; PP and agenda rates: ÷ active dossiers.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

TABLES = {
    "dossiers": {
        "dossier_id": "VARCHAR",
        "finess_et": "VARCHAR",
        "person_id": "VARCHAR",
        "admission_date": "DATE",
        "exit_date": "DATE",
        "exit_type": "VARCHAR",
        "last_updated_at": "DATE",
    },
    "projets_personnalises": {"dossier_id": "VARCHAR", "pp_date": "DATE"},
    "agenda": {"dossier_id": "VARCHAR", "event_date": "DATE"},
    "mssante": {"finess_et": "VARCHAR", "message_id": "VARCHAR", "sent_at": "DATE"},
    "dmp": {"dossier_id": "VARCHAR", "fed_at": "DATE"},
}
EXIT_TYPES = ("definitive", "temporary", "empty")
DEFINITIONS = (
    "Lecture de la plateforme en attendant le guide de l'ANAP (docs/indicateurs.md) : la fenêtre couvre les N mois "
    "qui finissent à la date de mesure, bornes comprises ; personnes accompagnées : personnes distinctes présentes "
    "au moins un jour de la fenêtre (admises au plus tard à sa fin, sans sortie définitive avant son début ; une "
    "sortie temporaire n'interrompt pas l'accompagnement) ; dossier actif : dossier d'une telle personne mis à jour "
    "dans la fenêtre ; avec projet personnalisé : PP daté au plus tard de la date de mesure ; avec événement : "
    "événement d'agenda dans la fenêtre ; taux MSSanté : messages envoyés dans la fenêtre ÷ personnes accompagnées ; "
    "taux DMP : personnes dont le DMP a reçu au moins un document dans la fenêtre ÷ personnes accompagnées ; taux de "
    "dossiers actifs : dossiers actifs ÷ personnes accompagnées ; taux PP et agenda : ÷ dossiers actifs."
)
RATES = {
    "active_rate": "U-ACTIVE",
    "pp_rate": "U-PP",
    "agenda_rate": "U-AGENDA",
    "mss_rate": "U-MSS",
    "dmp_rate": "U-DMP",
}


class ExportError(ValueError):
    """A French message naming the file, and the line and column when there is one. No partial result."""


@dataclass(frozen=True)
class Targets:
    active_rate: float
    pp_rate: float
    agenda_rate: float
    mss_rate: float
    dmp_rate: float


def window_start(measurement_date: dt.date, months: int) -> dt.date:
    """The day after the same day `months` months earlier (clamped to that month's last day)."""
    year, month = divmod(measurement_date.month - 1 - months, 12)
    year, month = measurement_date.year + year, month + 1
    day = min(measurement_date.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=1)


def _source(directory: Path, name: str) -> Path:
    for suffix in (".parquet", ".csv"):
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    raise ExportError(f"{directory}/{name}.csv (ou .parquet) : fichier manquant")


def _load(connection: duckdb.DuckDBPyConnection, directory: Path, name: str) -> None:
    """Loads a table as text, checks its columns, then converts it: a bad value names its file and line."""
    path = _source(directory, name)
    columns = TABLES[name]
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    options = "" if path.suffix == ".parquet" else ", all_varchar = true, header = true"
    try:
        connection.execute(
            f"CREATE TEMP TABLE raw_{name} AS SELECT *, row_number() OVER () AS _row FROM {reader}(?{options})",
            [str(path)],
        )
    except duckdb.Error as error:
        raise ExportError(f"{path.name} : fichier illisible ({str(error).splitlines()[0]})") from None
    present = {row[0] for row in connection.execute(f"DESCRIBE raw_{name}").fetchall()}
    missing = [c for c in columns if c not in present]
    if missing:
        raise ExportError(f"{path.name} : colonne(s) manquante(s) : {', '.join(missing)}")
    line_offset = 1 if path.suffix == ".csv" else 0  # the header line
    for column, kind in columns.items():
        if kind != "DATE":
            continue
        bad = connection.execute(
            f"SELECT _row, CAST({column} AS VARCHAR) FROM raw_{name} WHERE {column} IS NOT NULL "
            f"AND CAST({column} AS VARCHAR) <> '' AND TRY_CAST(CAST({column} AS VARCHAR) AS DATE) IS NULL "
            f"ORDER BY _row LIMIT 1"
        ).fetchone()
        if bad:
            raise ExportError(
                f"{path.name}, ligne {bad[0] + line_offset}, colonne « {column} » : date illisible "
                f"« {bad[1]} » (attendu AAAA-MM-JJ)"
            )
    select = ", ".join(
        f"TRY_CAST(NULLIF(CAST({c} AS VARCHAR), '') AS DATE) AS {c}" if k == "DATE" else f"CAST({c} AS VARCHAR) AS {c}"
        for c, k in columns.items()
    )
    connection.execute(f"CREATE TEMP TABLE {name} AS SELECT {select}, _row FROM raw_{name}")


def _check(connection: duckdb.DuckDBPyConnection, directory: Path) -> None:
    duplicate = connection.execute(
        "SELECT dossier_id, min(_row), max(_row) FROM dossiers GROUP BY dossier_id HAVING count(*) > 1 "
        "ORDER BY 2 LIMIT 1"
    ).fetchone()
    if duplicate:
        raise ExportError(
            f"{_source(directory, 'dossiers').name}, ligne {duplicate[2] + 1} : dossier_id "
            f"« {duplicate[0]} » en double (déjà ligne {duplicate[1] + 1})"
        )
    wrong_type = connection.execute(
        f"SELECT _row, exit_type FROM dossiers WHERE exit_type IS NOT NULL AND exit_type <> '' "
        f"AND exit_type NOT IN {EXIT_TYPES} ORDER BY _row LIMIT 1"
    ).fetchone()
    if wrong_type:
        raise ExportError(
            f"{_source(directory, 'dossiers').name}, ligne {wrong_type[0] + 1}, colonne « exit_type » : "
            f"« {wrong_type[1]} » inconnu ({', '.join(EXIT_TYPES)})"
        )
    for name in ("projets_personnalises", "agenda", "dmp"):
        orphan = connection.execute(
            f"SELECT t._row, t.dossier_id FROM {name} t LEFT JOIN dossiers d USING (dossier_id) "
            f"WHERE d.dossier_id IS NULL ORDER BY t._row LIMIT 1"
        ).fetchone()
        if orphan:
            raise ExportError(
                f"{_source(directory, name).name}, ligne {orphan[0] + 1} : dossier « {orphan[1]} » absent de dossiers"
            )
    unknown = connection.execute(
        "SELECT m._row, m.finess_et FROM mssante m WHERE m.finess_et NOT IN (SELECT finess_et FROM dossiers) "
        "ORDER BY m._row LIMIT 1"
    ).fetchone()
    if unknown:
        raise ExportError(
            f"{_source(directory, 'mssante').name}, ligne {unknown[0] + 1} : FINESS "
            f"« {unknown[1]} » inconnu de l'export dossiers"
        )


SQL = """
WITH present AS (
    SELECT * FROM dossiers
    WHERE admission_date <= $end
      AND NOT (exit_type = 'definitive' AND exit_date IS NOT NULL AND exit_date < $start)
),
active AS (
    SELECT * FROM present WHERE last_updated_at BETWEEN $start AND $end
),
flags AS (
    SELECT a.finess_et, a.dossier_id,
           EXISTS (SELECT 1 FROM projets_personnalises p WHERE p.dossier_id = a.dossier_id AND p.pp_date <= $end)
               AS has_pp,
           EXISTS (SELECT 1 FROM agenda g WHERE g.dossier_id = a.dossier_id AND g.event_date BETWEEN $start AND $end)
               AS has_event
    FROM active a
),
people AS (SELECT finess_et, count(DISTINCT person_id) AS n FROM present GROUP BY ROLLUP (finess_et)),
dossier_counts AS (
    SELECT finess_et, count(*) AS active, count(*) FILTER (WHERE has_pp) AS with_pp,
           count(*) FILTER (WHERE has_event) AS with_event
    FROM flags GROUP BY ROLLUP (finess_et)
),
messages AS (SELECT finess_et, count(*) AS n FROM mssante WHERE sent_at BETWEEN $start AND $end
             GROUP BY ROLLUP (finess_et)),
fed AS (
    SELECT p.finess_et, count(DISTINCT p.person_id) AS n
    FROM dmp d JOIN present p USING (dossier_id) WHERE d.fed_at BETWEEN $start AND $end
    GROUP BY ROLLUP (p.finess_et)
)
SELECT people.finess_et, people.n, coalesce(c.active, 0), coalesce(c.with_pp, 0), coalesce(c.with_event, 0),
       coalesce(m.n, 0), coalesce(f.n, 0)
FROM people
LEFT JOIN dossier_counts c ON c.finess_et IS NOT DISTINCT FROM people.finess_et
LEFT JOIN messages m ON m.finess_et IS NOT DISTINCT FROM people.finess_et
LEFT JOIN fed f ON f.finess_et IS NOT DISTINCT FROM people.finess_et
ORDER BY people.finess_et NULLS LAST
"""


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 6) if denominator else 0.0


def _measure(row: tuple, targets: Targets) -> dict[str, Any]:
    _, people, active, with_pp, with_event, messages, fed = row
    measure = {
        "people_accompanied": people,
        "active_dossiers": active,
        "active_with_pp": with_pp,
        "active_with_event": with_event,
        "mss_messages": messages,
        "dmp_people_fed": fed,
        "active_rate": _ratio(active, people),
        "pp_rate": _ratio(with_pp, active),
        "agenda_rate": _ratio(with_event, active),
        "mss_rate": _ratio(messages, people),
        "dmp_rate": _ratio(fed, people),
    }
    measure["targets_met"] = {rule: measure[rate] >= getattr(targets, rate) for rate, rule in RATES.items()}
    return measure


def compute_indicators(
    directory: Path, measurement_date: dt.date, targets: Targets, window_months: int = 3
) -> dict[str, Any]:
    start = window_start(measurement_date, window_months)
    connection = duckdb.connect()
    try:
        for name in TABLES:
            _load(connection, directory, name)
        _check(connection, directory)
        rows = connection.execute(SQL, {"start": start, "end": measurement_date}).fetchall()
    finally:
        connection.close()
    essms = {row[0]: _measure(row, targets) for row in rows if row[0] is not None}
    total = next((_measure(row, targets) for row in rows if row[0] is None), None)
    return {
        "measurement_date": measurement_date.isoformat(),
        "window_start": start.isoformat(),
        "window_end": measurement_date.isoformat(),
        "window_months": window_months,
        "essms": essms,
        "total": total,
        "definitions": DEFINITIONS,
    }
