"""Benchmark: the U-* indicators of a national-scale DUI export (a million dossiers, ten million agenda events)
with the platform's DuckDB computation, beside a plain pandas implementation of the same definitions on the same
data, in one run. Checks that both agree and prints both times and their ratio.

    make bench
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from esms_numerique.indicators.compute import DuiExport, Targets, window_start
from esms_numerique.indicators.demo import MEASUREMENT_DATE, generate

DOSSIERS = 1_000_000
EVENTS = 10
TARGETS = Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7)


def with_pandas(directory: Path) -> dict[str, tuple[int, ...]]:
    start, end = pd.Timestamp(window_start(MEASUREMENT_DATE, 3)), pd.Timestamp(MEASUREMENT_DATE)

    def read(name: str, dates: list[str]) -> pd.DataFrame:
        frame = pd.read_parquet(directory / f"{name}.parquet")
        for column in dates:
            frame[column] = pd.to_datetime(frame[column])
        return frame

    dossiers = read("dossiers", ["admission_date", "exit_date", "last_updated_at"])
    pp = read("projets_personnalises", ["pp_date"])
    agenda = read("agenda", ["event_date"])
    mss = read("mssante", ["sent_at"])
    dmp = read("dmp", ["fed_at"])
    left = (dossiers.exit_type == "definitive") & dossiers.exit_date.notna() & (dossiers.exit_date < start)
    present = dossiers[(dossiers.admission_date <= end) & ~left]
    active = present[(present.last_updated_at >= start) & (present.last_updated_at <= end)].copy()
    active["has_pp"] = active.dossier_id.isin(pp.dossier_id[pp.pp_date <= end])
    in_window = agenda[(agenda.event_date >= start) & (agenda.event_date <= end)]
    active["has_event"] = active.dossier_id.isin(in_window.dossier_id)
    people = present.groupby("finess_et").person_id.nunique()
    counts = active.groupby("finess_et").agg(
        active=("dossier_id", "size"), with_pp=("has_pp", "sum"), with_event=("has_event", "sum")
    )
    messages = mss[(mss.sent_at >= start) & (mss.sent_at <= end)].groupby("finess_et").size()
    fed_ids = dmp.dossier_id[(dmp.fed_at >= start) & (dmp.fed_at <= end)]
    fed = present[present.dossier_id.isin(fed_ids)].groupby("finess_et").person_id.nunique()
    return {
        finess: (
            int(people[finess]),
            int(counts.active.get(finess, 0)),
            int(counts.with_pp.get(finess, 0)),
            int(counts.with_event.get(finess, 0)),
            int(messages.get(finess, 0)),
            int(fed.get(finess, 0)),
        )
        for finess in people.index
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        started = time.perf_counter()
        generate(out, DOSSIERS, events_per_dossier=EVENTS, fmt="parquet")
        generated = time.perf_counter() - started

        started = time.perf_counter()
        # The same work as the pandas side: load, check, one measure (not the file active nor a series).
        with DuiExport(out) as export:
            result = export.measure(MEASUREMENT_DATE, TARGETS, 3)
        duck = time.perf_counter() - started

        started = time.perf_counter()
        reference = with_pandas(out)
        plain = time.perf_counter() - started

    ours = {
        finess: (
            m["people_accompanied"],
            m["active_dossiers"],
            m["active_with_pp"],
            m["active_with_event"],
            m["mss_messages"],
            m["dmp_people_fed"],
        )
        for finess, m in result["essms"].items()
    }
    agree = ours == reference
    print(
        f"Export synthétique : {DOSSIERS:,} dossiers, {DOSSIERS * EVENTS:,} événements d'agenda "
        f"(écrit en {generated:.1f} s)".replace(",", " ")
    )
    print(f"Plateforme (DuckDB) : {duck:.1f} s")
    print(f"pandas, mêmes définitions : {plain:.1f} s")
    print(f"Rapport pandas / plateforme : {plain / duck:.1f}")
    print("Résultats identiques : " + ("oui" if agree else "NON"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
