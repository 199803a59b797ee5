"""Every definition on a small export whose answers are counted by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from esms_numerique.indicators.compute import ExportError, Targets, compute_indicators, window_start

TARGETS = Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7)
DATE = dt.date(2024, 6, 30)  # window: 31/03/2024 – 30/06/2024
A, B = "350000022", "350001004"

DOSSIERS = f"""dossier_id,finess_et,person_id,admission_date,exit_date,exit_type,last_updated_at
d1,{A},p1,2023-01-10,,,2024-05-02
d2,{A},p2,2022-05-01,2024-03-31,definitive,2024-03-31
d3,{A},p3,2024-06-30,,,2024-06-30
d4,{A},p4,2023-02-01,,,2024-03-30
d5,{A},p5,2021-01-01,2024-03-30,definitive,2024-03-30
d6,{B},p6,2020-01-01,,,2024-04-15
d7,{B},p6,2023-09-01,2024-02-01,temporary,2024-04-20
"""
# By hand, for A: present p1, p2 (definitive exit on the window's first day), p3 (admitted on the date), p4;
# not p5 (left the day before). Active: d1, d2, d3 (d4 updated one day before the window). PP: d1, d3.
# Agenda in window: d1. Messages in window: 3. DMP fed in window: p1, p2.
# For B: one person p6 with two dossiers, both active (a temporary exit does not end the accompaniment).


def export(tmp_path: Path, **overrides: str) -> Path:
    files = {
        "dossiers": DOSSIERS,
        "projets_personnalises": "dossier_id,pp_date\nd1,2023-03-01\nd3,2024-06-30\nd2,2024-07-01\nd6,2024-01-01\n",
        "agenda": "dossier_id,event_date\nd1,2024-04-01\nd2,2024-03-30\nd6,2024-06-01\nd7,2024-05-05\n",
        "mssante": f"finess_et,message_id,sent_at\n{A},m1,2024-04-01\n{A},m2,2024-05-01\n{A},m3,2024-06-30\n"
        f"{A},m4,2024-03-30\n{B},m5,2024-04-02\n",
        "dmp": "dossier_id,fed_at\nd1,2024-04-10\nd1,2024-05-10\nd2,2024-04-01\nd4,2024-01-01\nd7,2024-05-01\n",
    }
    files.update(overrides)
    for name, content in files.items():
        (tmp_path / f"{name}.csv").write_text(content, encoding="utf-8")
    return tmp_path


def test_window():
    assert window_start(DATE, 3) == dt.date(2024, 3, 31)
    assert window_start(dt.date(2024, 5, 31), 3) == dt.date(2024, 3, 1)
    assert window_start(dt.date(2024, 1, 15), 3) == dt.date(2023, 10, 16)


def test_every_definition_counted_by_hand(tmp_path):
    result = compute_indicators(export(tmp_path), DATE, TARGETS)
    assert (result["window_start"], result["window_end"]) == ("2024-03-31", "2024-06-30")
    a = result["essms"][A]
    assert (a["people_accompanied"], a["active_dossiers"], a["active_with_pp"], a["active_with_event"]) == (4, 3, 2, 1)
    assert (a["mss_messages"], a["dmp_people_fed"]) == (3, 2)
    assert (a["active_rate"], a["pp_rate"], a["agenda_rate"], a["mss_rate"], a["dmp_rate"]) == (
        0.75,
        0.666667,
        0.333333,
        0.75,
        0.5,
    )
    assert a["targets_met"] == {"U-ACTIVE": False, "U-PP": False, "U-AGENDA": False, "U-MSS": True, "U-DMP": False}
    b = result["essms"][B]
    assert (b["people_accompanied"], b["active_dossiers"], b["active_with_pp"], b["active_with_event"]) == (1, 2, 1, 2)
    assert b["dmp_people_fed"] == 1
    total = result["total"]
    assert (total["people_accompanied"], total["active_dossiers"], total["mss_messages"]) == (5, 5, 4)
    assert "une sortie temporaire n'interrompt pas l'accompagnement" in result["definitions"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"agenda": "dossier_id,event_date\nd1,01/04/2024\n"},
            "agenda.csv, ligne 2, colonne « event_date » : date illisible « 01/04/2024 »",
        ),
        ({"dmp": "dossier_id\nd1\n"}, "dmp.csv : colonne(s) manquante(s) : fed_at"),
        (
            {"dossiers": DOSSIERS + "d1,350000022,p9,2024-01-01,,,2024-05-01\n"},
            "dossiers.csv, ligne 9 : dossier_id « d1 » en double (déjà ligne 2)",
        ),
        (
            {"agenda": "dossier_id,event_date\nd99,2024-04-01\n"},
            "agenda.csv, ligne 2 : dossier « d99 » absent de dossiers",
        ),
        (
            {"mssante": "finess_et,message_id,sent_at\n750000101,m1,2024-04-01\n"},
            "mssante.csv, ligne 2 : FINESS « 750000101 » inconnu",
        ),
    ],
)
def test_bad_exports_are_refused_in_french(tmp_path, override, message):
    with pytest.raises(ExportError) as refused:
        compute_indicators(export(tmp_path, **override), DATE, TARGETS)
    assert message in str(refused.value)


def test_a_missing_file(tmp_path):
    export(tmp_path)
    (tmp_path / "dmp.csv").unlink()
    with pytest.raises(ExportError, match=r"dmp.csv \(ou .parquet\) : fichier manquant"):
        compute_indicators(tmp_path, DATE, TARGETS)


def test_the_cli_reads_the_campaign_targets_and_writes_json(tmp_path):
    import json

    from click.testing import CliRunner

    from esms_numerique.cli import main

    export(tmp_path)
    out = tmp_path / "resultat.json"
    result = CliRunner().invoke(
        main, ["indicateurs", "calculer", str(tmp_path), "--date", "2024-06-30", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert (data["window_start"], data["campaign"]) == ("2024-03-31", "2024")
    assert data["essms"][A]["targets_met"]["U-MSS"] is True
    bad = CliRunner().invoke(main, ["indicateurs", "calculer", str(tmp_path), "--date", "30/06/2024"])
    assert bad.exit_code == 2 and "date de mesure « 30/06/2024 » illisible" in bad.output
    (tmp_path / "agenda.csv").write_text("dossier_id,event_date\nd1,hier\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["indicateurs", "calculer", str(tmp_path), "--date", "2024-06-30"])
    assert bad.exit_code == 2 and "Export refusé, aucun résultat : agenda.csv, ligne 2" in bad.output


def test_parquet_exports_give_the_same_answers(tmp_path):
    import duckdb

    (tmp_path / "csv").mkdir()
    csv_dir = export(tmp_path / "csv")
    parquet_dir = tmp_path / "parquet"
    parquet_dir.mkdir()
    for path in csv_dir.glob("*.csv"):
        duckdb.execute(
            f"COPY (SELECT * FROM read_csv('{path}', all_varchar = true)) "
            f"TO '{parquet_dir / (path.stem + '.parquet')}' (FORMAT parquet)"
        )
    from_csv = compute_indicators(csv_dir, DATE, TARGETS)
    from_parquet = compute_indicators(parquet_dir, DATE, TARGETS)
    assert from_csv["essms"] == from_parquet["essms"]
