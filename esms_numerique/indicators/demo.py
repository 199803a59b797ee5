"""`esms demo dui-export`: a synthetic DUI export in the canonical layout whose answers are known by construction
(for tests and benchmarks). Written by DuckDB from integer ranges, so that a national-scale export (a million
dossiers, ten million agenda events) takes seconds.

Dossier i (0 ≤ i < N) belongs to FINESS ET number i mod K and to its own person. With r = i mod 10:
- i mod 20 = 0: definitive exit before the window (not accompanied), else present;
- r = 1: last updated before the window (not active);
- r = 2: no projet personnalisé;
- r = 3: no agenda event in the window (its events are older);
- r ≤ 6: one MSSanté message and one document fed to the DMP in the window;
- with the optional files (U-OPTIONAL): r ≤ 4, two e-prescriptions imported in the window and one before it;
  r = 5, one exchange with the e-parcours platform in the window.
The file active of 2023 (D-FILE-ACTIVE) is every person: all admitted in 2020, the leavers left on 01/01/2023.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from esms_numerique.rules.finess import with_key

MEASUREMENT_DATE = dt.date(2024, 6, 30)


def finess_list(count: int) -> list[str]:
    return [with_key(f"35{9000 + n:06d}") for n in range(count)]


def generate(
    out: Path,
    dossiers: int,
    establishments: int = 50,
    events_per_dossier: int = 10,
    fmt: str = "csv",
    optional: bool = False,
) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    finess = finess_list(establishments)
    connection = duckdb.connect()
    connection.execute(
        "CREATE TEMP TABLE finess AS SELECT unnest(?) AS finess_et, generate_subscripts(?, 1) - 1 AS k",
        [finess, finess],
    )
    tables = {
        "dossiers": f"""
            SELECT 'd' || i AS dossier_id, f.finess_et, 'p' || i AS person_id, DATE '2020-01-01' AS admission_date,
                   CASE WHEN i % 20 = 0 THEN DATE '2023-01-01' END AS exit_date,
                   CASE WHEN i % 20 = 0 THEN 'definitive' END AS exit_type,
                   CASE WHEN i % 10 = 1 THEN DATE '2024-01-15' ELSE DATE '2024-05-15' END AS last_updated_at
            FROM range({dossiers}) t(i) JOIN finess f ON f.k = i % {establishments}""",
        "projets_personnalises": f"""
            SELECT 'd' || i AS dossier_id, DATE '2023-06-01' AS pp_date
            FROM range({dossiers}) t(i) WHERE i % 10 <> 2""",
        "agenda": f"""
            SELECT 'd' || i AS dossier_id,
                   CASE WHEN i % 10 = 3 THEN DATE '2023-12-01' - INTERVAL (e) DAY
                        ELSE DATE '2024-06-01' - INTERVAL (e) DAY END::DATE AS event_date
            FROM range({dossiers}) t(i), range({events_per_dossier}) u(e)""",
        "mssante": f"""
            SELECT f.finess_et, 'm' || i AS message_id, DATE '2024-05-20' AS sent_at
            FROM range({dossiers}) t(i) JOIN finess f ON f.k = i % {establishments} WHERE i % 10 <= 6""",
        "dmp": f"""
            SELECT 'd' || i AS dossier_id, DATE '2024-05-21' AS fed_at FROM range({dossiers}) t(i) WHERE i % 10 <= 6""",
    }
    if optional:
        tables["eprescription"] = f"""
            SELECT 'd' || i AS dossier_id, d AS imported_at
            FROM range({dossiers}) t(i), (VALUES (DATE '2024-04-10'), (DATE '2024-06-10'), (DATE '2024-01-10')) v(d)
            WHERE i % 10 <= 4"""
        tables["eparcours"] = f"""
            SELECT 'd' || i AS dossier_id, DATE '2024-05-05' AS exchanged_at FROM range({dossiers}) t(i)
            WHERE i % 10 = 5"""
    for name, query in tables.items():
        target = out / f"{name}.{fmt}"
        options = "(FORMAT parquet)" if fmt == "parquet" else "(HEADER, DELIMITER ',')"
        # COPY takes no bound parameter for its target: the path is quoted as an SQL string literal.
        quoted = str(target).replace("'", "''")
        connection.execute(f"COPY ({query}) TO '{quoted}' {options}")
    connection.close()
    return {"dossiers": dossiers, "establishments": establishments, "agenda": dossiers * events_per_dossier}


def expected(dossiers: int, establishments: int = 50) -> dict[str, dict[str, int]]:
    """The answers, counted from the construction above (window 01/04/2024 – 30/06/2024)."""
    finess = finess_list(establishments)
    keys = ("people", "active", "with_pp", "with_event", "messages", "fed", "eprescription", "eparcours")
    counts = {f: dict.fromkeys(keys, 0) for f in finess}
    for i in range(dossiers):
        row = counts[finess[i % establishments]]
        present = i % 20 != 0
        active = present and i % 10 != 1
        row["people"] += present
        row["active"] += active
        row["with_pp"] += active and i % 10 != 2
        row["with_event"] += active and i % 10 != 3
        row["messages"] += i % 10 <= 6
        row["fed"] += present and i % 10 <= 6
        row["eprescription"] += 2 * (i % 10 <= 4)
        row["eparcours"] += i % 10 == 5
    return counts
