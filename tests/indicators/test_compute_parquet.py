"""A Parquet export is read where it lies (views over the files, not copies: issue 16, P2) and refused exactly as
the same export in CSV, its lines counted from one (a Parquet file has no header line)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from esms_numerique.indicators.compute import DuiExport, ExportError, compute_indicators
from tests.indicators import test_compute as csv_cases

CASES = next(m for m in csv_cases.test_bad_exports_are_refused_in_french.pytestmark if m.name == "parametrize").args[1]


def as_parquet(directory: Path, typed: bool = False) -> None:
    """Every CSV of the export as a Parquet file, its values as text (or typed as DuckDB detects them)."""
    for path in directory.glob("*.csv"):
        options = "" if typed else ", all_varchar = true"
        duckdb.execute(
            f"COPY (SELECT * FROM read_csv('{path}', header = true{options})) TO '{path.with_suffix('.parquet')}' "
            "(FORMAT parquet)"
        )
        path.unlink()


def in_parquet(message: str) -> str:
    message = message.replace(".csv", ".parquet")
    return re.sub(r"ligne (\d+)", lambda m: f"ligne {int(m.group(1)) - 1}", message)


@pytest.mark.parametrize(("override", "message"), CASES)
def test_a_bad_parquet_export_is_refused_as_its_csv(tmp_path, override, message):
    as_parquet(csv_cases.export(tmp_path, **override))
    with pytest.raises(ExportError) as refused:
        compute_indicators(tmp_path, csv_cases.DATE, csv_cases.TARGETS)
    assert in_parquet(message) in str(refused.value)


@pytest.mark.parametrize("typed", [False, True])
def test_text_or_typed_parquet_gives_the_csv_answers(tmp_path, typed):
    csv_dir, parquet_dir = tmp_path / "csv", tmp_path / "parquet"
    csv_dir.mkdir(), parquet_dir.mkdir()
    csv_cases.export(csv_dir)
    csv_cases.export(parquet_dir)
    as_parquet(parquet_dir, typed=typed)
    expected = compute_indicators(csv_dir, csv_cases.DATE, csv_cases.TARGETS, monthly_from=csv_cases.DATE)
    got = compute_indicators(parquet_dir, csv_cases.DATE, csv_cases.TARGETS, monthly_from=csv_cases.DATE)
    assert got == expected
    with DuiExport(parquet_dir) as export:  # nothing copied: the tables are views over the files
        kinds = dict(
            export.connection.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        )
    assert kinds["dossiers"] == kinds["agenda"] == "VIEW"
