"""Benchmark P2: the U-* indicators of a national-scale DUI export (a million dossiers, ten million agenda events)
with the platform (load, checks, one measure), beside hand-written DuckDB SQL of the same definitions straight on
the same Parquet files (no checks), in one run. Each side runs in its own process, for its time and its peak memory
(RSS), three times interleaved (median time); both must give the same counts.

    make bench
    .venv/bin/python benchmarks/indicators.py --dossiers 200000     (a smaller export)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.5
EVENTS = 10
ROUNDS = 3


def median_run(results: list[dict]) -> dict:
    """The run of median time, with the highest peak memory of all."""
    chosen = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
    return {**chosen, "peak_mb": max(r["peak_mb"] for r in results)}


def hand_written(directory: Path, start, end) -> dict[str, list[int]]:
    """The definitions of docs/indicateurs.md, written once in DuckDB SQL over the Parquet files: one row per FINESS
    ET and the total row (ROLLUP: a person in two ESSMS is one person of the total)."""
    import duckdb

    def table(name: str) -> str:
        return f"read_parquet('{directory / name}.parquet')"

    sql = f"""
WITH present AS (
    SELECT dossier_id, finess_et, person_id, last_updated_at FROM {table("dossiers")}
    WHERE admission_date <= $end AND NOT (exit_type = 'definitive' AND exit_date IS NOT NULL AND exit_date < $start)
),
pp AS (SELECT DISTINCT dossier_id FROM {table("projets_personnalises")} WHERE pp_date <= $end),
events AS (SELECT DISTINCT dossier_id FROM {table("agenda")} WHERE event_date BETWEEN $start AND $end),
fed AS (SELECT DISTINCT dossier_id FROM {table("dmp")} WHERE fed_at BETWEEN $start AND $end),
messages AS (SELECT finess_et, count(*) AS n FROM {table("mssante")} WHERE sent_at BETWEEN $start AND $end
             GROUP BY ROLLUP (finess_et)),
counts AS (
    SELECT p.finess_et,
           count(DISTINCT p.person_id) AS people,
           count(*) FILTER (WHERE p.last_updated_at BETWEEN $start AND $end) AS active,
           count(*) FILTER (WHERE p.last_updated_at BETWEEN $start AND $end AND pp.dossier_id IS NOT NULL) AS with_pp,
           count(*) FILTER (WHERE p.last_updated_at BETWEEN $start AND $end AND e.dossier_id IS NOT NULL)
               AS with_event,
           count(DISTINCT p.person_id) FILTER (WHERE f.dossier_id IS NOT NULL) AS fed
    FROM present p
    LEFT JOIN pp USING (dossier_id) LEFT JOIN events e USING (dossier_id) LEFT JOIN fed f USING (dossier_id)
    GROUP BY ROLLUP (p.finess_et)
)
SELECT c.finess_et, c.people, c.active, c.with_pp, c.with_event, coalesce(m.n, 0), c.fed
FROM counts c LEFT JOIN messages m ON m.finess_et IS NOT DISTINCT FROM c.finess_et
"""
    rows = duckdb.connect().execute(sql, {"start": start, "end": end}).fetchall()
    return {row[0]: list(row[1:]) for row in rows}


def platform(directory: Path, end) -> dict[str, list[int]]:
    from esms_numerique.indicators.compute import COUNTS, DuiExport, Targets

    targets = Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7)
    with DuiExport(directory) as export:
        result = export.measure(end, targets, 3)
    counts = {finess: [m[f] for f in COUNTS] for finess, m in result["essms"].items()}
    return counts | {None: [result["total"][f] for f in COUNTS]}


def child(side: str, directory: Path) -> None:
    """One side, in this process: its time (imports aside) and its peak memory."""
    import duckdb  # noqa: F401 (imported before the clock starts, on both sides)

    from esms_numerique.indicators.compute import window_start
    from esms_numerique.indicators.demo import MEASUREMENT_DATE

    start = window_start(MEASUREMENT_DATE, 3)
    started = time.perf_counter()
    counts = (
        hand_written(directory, start, MEASUREMENT_DATE) if side == "sql" else platform(directory, MEASUREMENT_DATE)
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "counts": counts}))


def run(side: str, directory: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", side, str(directory)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child[0], Path(arguments.child[1]))
        return 0
    from esms_numerique.indicators.demo import generate

    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        started = time.perf_counter()
        generate(out, arguments.dossiers, events_per_dossier=EVENTS, fmt="parquet")
        generated = time.perf_counter() - started
        # Each side three times, interleaved, their median time (the machine is shared: one run can be unlucky).
        runs = [(run("sql", out), run("platform", out)) for _ in range(ROUNDS)]
    sql, ours = (median_run([pair[i] for pair in runs]) for i in (0, 1))
    agree = all(r["counts"] == sql["counts"] for pair in runs for r in pair)
    ratio, memory = ours["seconds"] / sql["seconds"], ours["peak_mb"] / sql["peak_mb"]
    dossiers, events = (f"{n:,}".replace(",", "\u202f") for n in (arguments.dossiers, arguments.dossiers * EVENTS))
    print(f"Export synthétique : {dossiers} dossiers, {events} événements d'agenda (écrit en {generated:.1f} s)")
    print(
        f"P2 Indicateurs, plateforme (chargement, contrôles, une mesure) : {ours['seconds']:.2f} s, "
        f"{ours['peak_mb']:.0f} Mo au plus ; SQL DuckDB écrit à la main, mêmes définitions, sans contrôle : "
        f"{sql['seconds']:.2f} s, {sql['peak_mb']:.0f} Mo ; rapports {ratio:.1f} (temps) et {memory:.1f} (mémoire) "
        f"(objectif ≤ {GOAL})"
    )
    print("Résultats identiques : " + ("oui" if agree else "NON"))
    return 0 if agree and ratio <= GOAL and memory <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
