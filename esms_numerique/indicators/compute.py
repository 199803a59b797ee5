"""The U-* indicators from a DUI export in the canonical layout, with DuckDB (pure Python, no Django).

Definitions, as this platform reads the texts until the ANAP guide says otherwise (docs/indicateurs.md):
- the window is the `window_months` months that end on the measurement date, both ends included: whole calendar
  months when the date is a month end, else from the day after the same day N months earlier;
- people accompanied: distinct persons present on at least one day of the window (admitted on or before its end,
  and without a definitive exit before its start; a temporary exit does not end the accompaniment);
- an active dossier concerns such a person and was updated in the window;
- with a PP: it has a projet personnalisé dated on or before the measurement date;
- with an agenda event: an event in the window;
- MSSanté rate: messages sent in the window ÷ people accompanied; DMP rate: people with at least one document fed
  to the DMP in the window ÷ people accompanied;
- active rate: active dossiers ÷ people accompanied; PP and agenda rates: ÷ active dossiers;
- U-OPTIONAL (no target): e-prescriptions imported into the DUI and exchanges with an e-parcours platform in the
  window, counted when those files are given;
- CNSA yearly file active (D-FILE-ACTIVE): distinct persons present on 31/12 of the year or with a definitive exit in
  the year, each person once;
- monthly series (D-USAGE-SERIES): one measure at each month end, the first over the campaign's window, the next
  ones over the series window (one month in 2022: « sur le mois écoulé mesuré à chaque fin de mois »).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from esms_numerique.rules.finess import KeyStatus, check_key

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
# U-OPTIONAL (AAP24 4.C): counted when the OG's export has them, no target.
OPTIONAL_TABLES = {
    "eprescription": {"dossier_id": "VARCHAR", "imported_at": "DATE"},
    "eparcours": {"dossier_id": "VARCHAR", "exchanged_at": "DATE"},
}
OPTIONAL_COUNTS = {"eprescription": "eprescription_imports", "eparcours": "eparcours_exchanges"}
# The counts behind the rates, in the order of the rows (_measure): people, active dossiers, active ones
# with a PP, with an agenda event, MSSanté messages, people whose DMP was fed.
COUNTS = (
    "people_accompanied",
    "active_dossiers",
    "active_with_pp",
    "active_with_event",
    "mss_messages",
    "dmp_people_fed",
)
# The date each optional row is counted on: its table's one DATE column.
_DATE_COLUMN = {
    name: next(c for c, kind in columns.items() if kind == "DATE") for name, columns in OPTIONAL_TABLES.items()
}
EXIT_TYPES = ("definitive", "temporary", "empty")
DEFINITIONS = (
    "Lecture de la plateforme en attendant le guide de l'ANAP (docs/indicateurs.md) : la fenêtre couvre les N mois "
    "qui finissent à la date de mesure, bornes comprises (des mois civils entiers si la date est une fin de mois) ; "
    "personnes accompagnées : personnes distinctes présentes "
    "au moins un jour de la fenêtre (admises au plus tard à sa fin, sans sortie définitive avant son début ; une "
    "sortie temporaire n'interrompt pas l'accompagnement) ; dossier actif : dossier d'une telle personne mis à jour "
    "dans la fenêtre ; avec projet personnalisé : PP daté au plus tard de la date de mesure ; avec événement : "
    "événement d'agenda dans la fenêtre ; taux MSSanté : messages envoyés dans la fenêtre ÷ personnes accompagnées ; "
    "taux DMP : personnes dont le DMP a reçu au moins un document dans la fenêtre ÷ personnes accompagnées ; taux de "
    "dossiers actifs : dossiers actifs ÷ personnes accompagnées ; taux PP et agenda : ÷ dossiers actifs. "
    "Facultatifs, sans cible (U-OPTIONAL) : prescriptions électroniques importées et échanges avec la plateforme "
    "e-parcours dans la fenêtre. File active CNSA de l'année N : personnes présentes au 31/12/N ou sorties "
    "définitivement dans l'année, chacune comptée une fois."
)
RATES = {
    "active_rate": "U-ACTIVE",
    "pp_rate": "U-PP",
    "agenda_rate": "U-AGENDA",
    "mss_rate": "U-MSS",
    "dmp_rate": "U-DMP",
}
RATE_FIELDS = tuple(RATES)  # active_rate, pp_rate, agenda_rate, mss_rate, dmp_rate
RULES = tuple(RATES.values())  # U-ACTIVE, U-PP, U-AGENDA, U-MSS, U-DMP


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
    """The first day of the `months` months that end on the measurement date. On a month end, the window is made of
    whole calendar months (30/06, 3 months → 01/04; 1 month → 01/06); on another day, it starts the day after the
    same day `months` months earlier, clamped to that month's last day (15/01 → 16/10)."""
    if measurement_date.day == calendar.monthrange(measurement_date.year, measurement_date.month)[1]:
        year, month = divmod(measurement_date.month - months, 12)
        return dt.date(measurement_date.year + year, month + 1, 1)
    year, month = divmod(measurement_date.month - 1 - months, 12)
    year, month = measurement_date.year + year, month + 1
    day = min(measurement_date.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=1)


def _find(directory: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def _source(directory: Path, name: str) -> Path:
    path = _find(directory, name)
    if path is None:
        raise ExportError(f"{directory}/{name}.csv (ou .parquet) : fichier manquant")
    return path


def _load_parquet(connection: duckdb.DuckDBPyConnection, path: Path, name: str, columns: dict[str, str]) -> None:
    """A Parquet table as a view over its file, not a copy: DuckDB reads the columns each query needs, where they
    are, with their row numbers (`file_row_number`); a date column stored as text is checked then converted."""
    source = f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}', file_row_number = true)"
    try:
        present = dict(
            connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall()
        )
    except duckdb.Error as error:
        raise ExportError(f"{path.name} : fichier illisible ({str(error).splitlines()[0]})") from None
    missing = [c for c in columns if c not in present]
    if missing:
        raise ExportError(f"{path.name} : colonne(s) manquante(s) : {', '.join(missing)}")
    select = []
    for column, kind in columns.items():
        stored = present[column]
        if kind == "DATE" and stored != "DATE":
            bad = connection.execute(
                f"SELECT file_row_number + 1, CAST({column} AS VARCHAR) FROM {source} WHERE {column} IS NOT NULL "
                f"AND CAST({column} AS VARCHAR) <> '' AND TRY_CAST(CAST({column} AS VARCHAR) AS DATE) IS NULL "
                f"ORDER BY 1 LIMIT 1"
            ).fetchone()
            if bad:
                raise ExportError(
                    f"{path.name}, ligne {bad[0]}, colonne « {column} » : date illisible « {bad[1]} » "
                    "(attendu AAAA-MM-JJ)"
                )
            select.append(f"TRY_CAST(NULLIF(CAST({column} AS VARCHAR), '') AS DATE) AS {column}")
        elif stored == kind:
            select.append(column)
        else:
            select.append(f"CAST({column} AS {kind}) AS {column}")
    connection.execute(
        f"CREATE TEMP VIEW {name} AS SELECT {', '.join(select)}, file_row_number + 1 AS _row FROM {source}"
    )


def _load(connection: duckdb.DuckDBPyConnection, directory: Path, name: str, columns: dict[str, str]) -> None:
    """Loads a table as text, checks its columns, then converts it: a bad value names its file and line."""
    path = _source(directory, name)
    if path.suffix == ".parquet":
        _load_parquet(connection, path, name, columns)
        return
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


REQUIRED = ("dossier_id", "finess_et", "person_id", "admission_date")


def _line(directory: Path, name: str, row: int, with_file: bool = True) -> str:
    """« file, ligne N » as the user sees the file: a CSV's first line is its header, a Parquet file has none."""
    path = _source(directory, name)
    line = f"ligne {row + (1 if path.suffix == '.csv' else 0)}"
    return f"{path.name}, {line}" if with_file else line


def _check(connection: duckdb.DuckDBPyConnection, directory: Path, optional: tuple[str, ...]) -> None:
    # One pass over the dossiers for the empty required values and the unknown exit types (reported in this order
    # after the FINESS and duplicate checks, as ever).
    # A date is missing when NULL (an empty text converts to NULL); a text when NULL or blank (only spaces, all
    # below '!': the cheap comparison spares trimming every value).
    empties = ", ".join(
        f"min(_row) FILTER (WHERE {c} IS NULL)"
        if TABLES["dossiers"][c] == "DATE"
        else f"min(_row) FILTER (WHERE {c} IS NULL OR ({c} < '!' AND trim({c}) = ''))"
        for c in REQUIRED
    )
    unknown_exit = f"exit_type IS NOT NULL AND exit_type <> '' AND exit_type NOT IN {EXIT_TYPES}"
    *empty_rows, wrong_row, wrong_value = connection.execute(
        f"SELECT {empties}, min(_row) FILTER (WHERE {unknown_exit}), arg_min(exit_type, _row) FILTER "
        f"(WHERE {unknown_exit}) FROM dossiers"
    ).fetchone()
    for column, empty in zip(REQUIRED, empty_rows, strict=True):
        if empty is not None:
            raise ExportError(f"{_line(directory, 'dossiers', empty)}, colonne « {column} » : valeur manquante")
    # E-FINESS: every FINESS ET of the export is a well-formed number with its check key (Corsica: D-FINESS-CORSICA).
    rows = connection.execute("SELECT finess_et, min(_row) FROM dossiers GROUP BY finess_et ORDER BY 2").fetchall()
    for finess, row in rows:
        if check_key(finess) in (KeyStatus.MALFORMED, KeyStatus.BAD_KEY):
            raise ExportError(
                f"{_line(directory, 'dossiers', row)}, colonne « finess_et » : FINESS « {finess} » invalide "
                "(9 caractères dont une clé de contrôle)"
            )
    duplicate = connection.execute(
        "SELECT dossier_id, min(_row), max(_row) FROM dossiers GROUP BY dossier_id HAVING count(*) > 1 "
        "ORDER BY 2 LIMIT 1"
    ).fetchone()
    if duplicate:
        raise ExportError(
            f"{_line(directory, 'dossiers', duplicate[2])} : dossier_id « {duplicate[0]} » en double "
            f"(déjà {_line(directory, 'dossiers', duplicate[1], with_file=False)})"
        )
    if wrong_row is not None:
        raise ExportError(
            f"{_line(directory, 'dossiers', wrong_row)}, colonne « exit_type » : "
            f"« {wrong_value} » inconnu ({', '.join(EXIT_TYPES)})"
        )
    # Every table that names dossiers, against the dossiers in one anti-join (one hash table of their ids): the
    # first orphan of the first table in this order.
    children = ("projets_personnalises", "agenda", "dmp", *optional)
    rows_of = " UNION ALL ".join(f"SELECT {n} AS t, _row, dossier_id FROM {name}" for n, name in enumerate(children))
    orphan = connection.execute(
        f"SELECT t, _row, dossier_id FROM ({rows_of}) ANTI JOIN dossiers d USING (dossier_id) ORDER BY t, _row LIMIT 1"
    ).fetchone()
    if orphan:
        name = children[orphan[0]]
        raise ExportError(f"{_line(directory, name, orphan[1])} : dossier « {orphan[2]} » absent de dossiers")
    unknown = connection.execute(
        "SELECT m._row, m.finess_et FROM mssante m WHERE m.finess_et NOT IN (SELECT finess_et FROM dossiers) "
        "ORDER BY m._row LIMIT 1"
    ).fetchone()
    if unknown:
        raise ExportError(
            f"{_line(directory, 'mssante', unknown[0])} : FINESS « {unknown[1]} » inconnu de l'export dossiers"
        )


def _sql(optional: tuple[str, ...]) -> str:
    """One row per FINESS ET and a total row (finess_et NULL, ROLLUP): the counts of one window."""
    extra_ctes = "".join(
        f""",
{name}_counts AS (
    SELECT p.finess_et, count(*) AS n
    FROM {name} x JOIN dossiers p USING (dossier_id) WHERE x.{_DATE_COLUMN[name]} BETWEEN $start AND $end
    GROUP BY ROLLUP (p.finess_et)
)"""
        for name in optional
    )
    extra_columns = "".join(f", coalesce({name}_counts.n, 0)" for name in optional)
    extra_joins = "".join(
        f"\nLEFT JOIN {name}_counts ON {name}_counts.finess_et IS NOT DISTINCT FROM people.finess_et"
        for name in optional
    )
    return f"""
WITH present AS (
    SELECT dossier_id, finess_et, person_id, last_updated_at FROM dossiers
    WHERE admission_date <= $end
      AND NOT (exit_type = 'definitive' AND exit_date IS NOT NULL AND exit_date < $start)
),
pp AS (SELECT DISTINCT dossier_id FROM projets_personnalises WHERE pp_date <= $end),
events AS (SELECT DISTINCT dossier_id FROM agenda WHERE event_date BETWEEN $start AND $end),
fed_ids AS (SELECT DISTINCT dossier_id FROM dmp WHERE fed_at BETWEEN $start AND $end),
counts AS (
    -- one pass over the present dossiers: the distinct persons, the active dossiers (updated in the window) and
    -- those with a PP or an event, the distinct persons whose DMP was fed
    SELECT p.finess_et,
           count(DISTINCT p.person_id) AS people,
           count(*) FILTER (WHERE p.last_updated_at BETWEEN $start AND $end) AS active,
           count(*) FILTER (WHERE p.last_updated_at BETWEEN $start AND $end AND pp.dossier_id IS NOT NULL)
               AS with_pp,
           count(*) FILTER (WHERE p.last_updated_at BETWEEN $start AND $end AND e.dossier_id IS NOT NULL)
               AS with_event,
           count(DISTINCT p.person_id) FILTER (WHERE f.dossier_id IS NOT NULL) AS fed
    FROM present p
    LEFT JOIN pp USING (dossier_id) LEFT JOIN events e USING (dossier_id) LEFT JOIN fed_ids f USING (dossier_id)
    GROUP BY ROLLUP (p.finess_et)
),
messages AS (SELECT finess_et, count(*) AS n FROM mssante WHERE sent_at BETWEEN $start AND $end
             GROUP BY ROLLUP (finess_et)){extra_ctes}
SELECT people.finess_et, people.people, people.active, people.with_pp, people.with_event,
       coalesce(m.n, 0), people.fed{extra_columns}
FROM counts people
LEFT JOIN messages m ON m.finess_et IS NOT DISTINCT FROM people.finess_et{extra_joins}
ORDER BY people.finess_et NULLS LAST
"""


# D-FILE-ACTIVE: the CNSA file active of year N (« effectif au 31/12/N + sorties définitives dans l'année, une
# personne n'est comptée qu'une fois »). Present on 31/12 = admitted on or before it and no definitive exit before it
# (a definitive exit on 31/12 is an exit of the year: the person is counted once either way).
FILE_ACTIVE_SQL = """
WITH at_year_end AS (
    SELECT finess_et, person_id FROM dossiers
    WHERE admission_date <= $year_end
      AND NOT (exit_type = 'definitive' AND exit_date IS NOT NULL AND exit_date < $year_end)
),
exits AS (
    SELECT finess_et, person_id FROM dossiers
    WHERE exit_type = 'definitive' AND exit_date BETWEEN $year_start AND $year_end
),
counted AS (SELECT * FROM at_year_end UNION SELECT * FROM exits),
present AS (SELECT finess_et, count(DISTINCT person_id) AS n FROM at_year_end GROUP BY ROLLUP (finess_et)),
exited AS (SELECT finess_et, count(DISTINCT person_id) AS n FROM exits GROUP BY ROLLUP (finess_et)),
file_active AS (SELECT finess_et, count(DISTINCT person_id) AS n FROM counted GROUP BY ROLLUP (finess_et))
SELECT fa.finess_et, coalesce(p.n, 0), coalesce(e.n, 0), fa.n
FROM file_active fa
LEFT JOIN present p ON p.finess_et IS NOT DISTINCT FROM fa.finess_et
LEFT JOIN exited e ON e.finess_et IS NOT DISTINCT FROM fa.finess_et
ORDER BY fa.finess_et NULLS LAST
"""


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 6) if denominator else 0.0


def _measure(row: tuple, targets: Targets, optional: tuple[str, ...]) -> dict[str, Any]:
    _, people, active, with_pp, with_event, messages, fed = row[:7]
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
    measure.update({OPTIONAL_COUNTS[name]: count for name, count in zip(optional, row[7:], strict=True)})
    measure["targets_met"] = {rule: measure[rate] >= getattr(targets, rate) for rate, rule in RATES.items()}
    return measure


def file_active_year(measurement_date: dt.date) -> int:
    """D-FILE-ACTIVE: the last complete year on the measurement date (the date's own year if it is a 31/12)."""
    return (
        measurement_date.year
        if (measurement_date.month, measurement_date.day) == (12, 31)
        else measurement_date.year - 1
    )


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The month ends from the one of `first`'s month to the last one on or before `last`."""
    ends = []
    year, month = first.year, first.month
    while True:
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        if end > last:
            return ends
        ends.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


class DuiExport:
    """A DUI export loaded and checked once, then measured on as many dates and windows as asked."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.optional = tuple(name for name in OPTIONAL_TABLES if _find(directory, name))
        self.connection = duckdb.connect()
        try:
            for name, columns in TABLES.items():
                _load(self.connection, directory, name, columns)
            for name in self.optional:
                _load(self.connection, directory, name, OPTIONAL_TABLES[name])
            _check(self.connection, directory, self.optional)
        except BaseException:
            self.connection.close()
            raise

    def __enter__(self) -> DuiExport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def measure(self, measurement_date: dt.date, targets: Targets, window_months: int) -> dict[str, Any]:
        start = window_start(measurement_date, window_months)
        rows = self.connection.execute(_sql(self.optional), {"start": start, "end": measurement_date}).fetchall()
        return {
            "measurement_date": measurement_date.isoformat(),
            "window_start": start.isoformat(),
            "window_end": measurement_date.isoformat(),
            "window_months": window_months,
            "essms": {row[0]: _measure(row, targets, self.optional) for row in rows if row[0] is not None},
            "total": next((_measure(row, targets, self.optional) for row in rows if row[0] is None), None),
        }

    def file_active(self, year: int) -> dict[str, Any]:
        rows = self.connection.execute(
            FILE_ACTIVE_SQL, {"year_start": dt.date(year, 1, 1), "year_end": dt.date(year, 12, 31)}
        ).fetchall()

        def counts(row: tuple) -> dict[str, int]:
            return {"present_at_year_end": row[1], "definitive_exits": row[2], "file_active": row[3]}

        return {
            "year": year,
            "essms": {row[0]: counts(row) for row in rows if row[0] is not None},
            "total": next((counts(row) for row in rows if row[0] is None), None),
        }


def compute_indicators(
    directory: Path,
    measurement_date: dt.date,
    targets: Targets,
    window_months: int = 3,
    *,
    monthly_from: dt.date | None = None,
    series_window_months: int | None = None,
    file_active_in: int | None = None,
) -> dict[str, Any]:
    """The measure on the date; the CNSA file active; with `monthly_from`, the monthly series up to the date
    (D-USAGE-SERIES: the first month end over `window_months`, the next ones over `series_window_months`)."""
    with DuiExport(directory) as export:
        result = export.measure(measurement_date, targets, window_months)
        result["file_active"] = export.file_active(file_active_in or file_active_year(measurement_date))
        if monthly_from is not None:
            ends = month_ends(monthly_from, measurement_date)
            result["monthly"] = [
                export.measure(end, targets, window_months if n == 0 else series_window_months or window_months)
                for n, end in enumerate(ends)
            ]
    result["optional_indicators"] = [OPTIONAL_COUNTS[name] for name in export.optional]
    result["definitions"] = DEFINITIONS
    return result
