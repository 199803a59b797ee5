"""Every definition on a small export whose answers are counted by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from esms_numerique.indicators.compute import ExportError, Targets, compute_indicators, window_start

TARGETS = Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7)
DATE = dt.date(2024, 6, 30)  # window: 01/04/2024 – 30/06/2024 (whole months: the date is a month end)
A, B = "350000022", "350001004"

DOSSIERS = f"""dossier_id,finess_et,person_id,admission_date,exit_date,exit_type,last_updated_at
d1,{A},p1,2023-01-10,,,2024-05-02
d2,{A},p2,2022-05-01,2024-04-01,definitive,2024-04-01
d3,{A},p3,2024-06-30,,,2024-06-30
d4,{A},p4,2023-02-01,,,2024-03-31
d5,{A},p5,2021-01-01,2024-03-31,definitive,2024-03-31
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
        "agenda": "dossier_id,event_date\nd1,2024-04-01\nd2,2024-03-31\nd6,2024-06-01\nd7,2024-05-05\n",
        "mssante": f"finess_et,message_id,sent_at\n{A},m1,2024-04-01\n{A},m2,2024-05-01\n{A},m3,2024-06-30\n"
        f"{A},m4,2024-03-31\n{B},m5,2024-04-02\n",
        "dmp": "dossier_id,fed_at\nd1,2024-04-10\nd1,2024-05-10\nd2,2024-04-01\nd4,2024-01-01\nd7,2024-05-01\n",
    }
    files.update(overrides)
    for name, content in files.items():
        (tmp_path / f"{name}.csv").write_text(content, encoding="utf-8")
    return tmp_path


def test_window():
    assert window_start(DATE, 3) == dt.date(2024, 4, 1)
    assert window_start(DATE, 1) == dt.date(2024, 6, 1)
    assert window_start(dt.date(2024, 4, 30), 3) == dt.date(2024, 2, 1)
    assert window_start(dt.date(2024, 6, 29), 3) == dt.date(2024, 3, 30)
    assert window_start(dt.date(2024, 5, 31), 3) == dt.date(2024, 3, 1)
    assert window_start(dt.date(2024, 1, 15), 3) == dt.date(2023, 10, 16)


def test_every_definition_counted_by_hand(tmp_path):
    result = compute_indicators(export(tmp_path), DATE, TARGETS)
    assert (result["window_start"], result["window_end"]) == ("2024-04-01", "2024-06-30")
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
            {"dossiers": DOSSIERS + "d8,350000023,p8,2024-01-01,,,2024-05-01\n"},
            "dossiers.csv, ligne 9, colonne « finess_et » : FINESS « 350000023 » invalide",
        ),
        (
            {"dossiers": DOSSIERS + "d8,35000002,p8,2024-01-01,,,2024-05-01\n"},
            "dossiers.csv, ligne 9, colonne « finess_et » : FINESS « 35000002 » invalide",
        ),
        (
            {"dossiers": DOSSIERS + f"d8,{A},p8,,,,2024-05-01\n"},
            "dossiers.csv, ligne 9, colonne « admission_date » : valeur manquante",
        ),
        (
            {"dossiers": DOSSIERS + f"d8,{A},,2024-01-01,,,2024-05-01\n"},
            "dossiers.csv, ligne 9, colonne « person_id » : valeur manquante",
        ),
        (
            {"agenda": "dossier_id,event_date\nd99,2024-04-01\n"},
            "agenda.csv, ligne 2 : dossier « d99 » absent de dossiers",
        ),
        (
            {"mssante": "finess_et,message_id,sent_at\n750000101,m1,2024-04-01\n"},
            "mssante.csv, ligne 2 : FINESS « 750000101 » inconnu",
        ),
        # The optional files, when given, are checked like the others.
        ({"eparcours": "dossier_id,exchanged_at\nd99,2024-04-02\n"}, "eparcours.csv, ligne 2 : dossier « d99 »"),
        ({"eprescription": "dossier_id,date\nd1,2024-04-02\n"}, "eprescription.csv : colonne(s) manquante(s)"),
        (
            {"eprescription": "dossier_id,imported_at\nd1,2024-04-02\nd1,le 3 mai\n"},
            "eprescription.csv, ligne 3, colonne « imported_at » : date illisible",
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
    assert (data["window_start"], data["campaign"]) == ("2024-04-01", "2024")
    assert data["essms"][A]["targets_met"]["U-MSS"] is True
    bad = CliRunner().invoke(main, ["indicateurs", "calculer", str(tmp_path), "--date", "30/06/2024"])
    assert bad.exit_code == 2 and "--date « 30/06/2024 » illisible" in bad.output
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


def test_cnsa_file_active_counts_each_person_once(tmp_path):
    # Default year on 30/06/2024: 2023, the last complete one. A: p1, p2, p4, p5 present on 31/12/2023; B: p6.
    result = compute_indicators(export(tmp_path), DATE, TARGETS)
    fa = result["file_active"]
    assert fa["year"] == 2023
    assert fa["essms"][A] == {"present_at_year_end": 4, "definitive_exits": 0, "file_active": 4}
    assert fa["total"]["file_active"] == 5
    # 2024: A has p1, p3, p4 at year end and p2, p5 left definitively during the year.
    fa = compute_indicators(export(tmp_path), DATE, TARGETS, file_active_in=2024)["file_active"]
    assert fa["essms"][A] == {"present_at_year_end": 3, "definitive_exits": 2, "file_active": 5}
    assert fa["essms"][B] == {"present_at_year_end": 1, "definitive_exits": 0, "file_active": 1}
    assert fa["total"] == {"present_at_year_end": 4, "definitive_exits": 2, "file_active": 6}


def test_file_active_edges(tmp_path):
    dossiers = f"""dossier_id,finess_et,person_id,admission_date,exit_date,exit_type,last_updated_at
e1,{A},q1,2022-01-01,2023-03-01,definitive,2023-03-01
e2,{A},q1,2023-06-01,,,2023-12-01
e3,{A},q2,2023-05-01,2023-12-31,definitive,2023-12-31
e4,{A},q3,2024-01-01,,,2024-01-02
e5,{A},q4,2021-01-01,2022-12-31,definitive,2022-12-31
e6,{B},q1,2023-01-01,,,2023-12-01
e7,{B},q5,2023-02-01,2023-07-01,temporary,2023-07-01
"""
    # By hand, 2023. A: q1 left and came back (once), q2 left on 31/12 (once); not q3 (admitted in 2024) nor q4
    # (left in 2022). B: q1 and q5 (a temporary exit keeps q5 in the headcount). Total: q1, q2, q5.
    empty = {"projets_personnalises": "dossier_id,pp_date\n", "agenda": "dossier_id,event_date\n"}
    empty |= {"mssante": "finess_et,message_id,sent_at\n", "dmp": "dossier_id,fed_at\n"}
    result = compute_indicators(export(tmp_path, dossiers=dossiers, **empty), dt.date(2023, 12, 31), TARGETS)
    fa = result["file_active"]
    assert fa["year"] == 2023
    assert fa["essms"][A] == {"present_at_year_end": 2, "definitive_exits": 2, "file_active": 2}
    assert fa["essms"][B] == {"present_at_year_end": 2, "definitive_exits": 0, "file_active": 2}
    assert fa["total"] == {"present_at_year_end": 3, "definitive_exits": 2, "file_active": 3}


def test_optional_e_prescription_and_e_parcours_counts(tmp_path):
    plain = compute_indicators(export(tmp_path), DATE, TARGETS)
    assert plain["optional_indicators"] == [] and "eprescription_imports" not in plain["total"]
    optional = {
        "eprescription": "dossier_id,imported_at\nd1,2024-04-01\nd1,2024-06-30\nd6,2024-03-31\nd3,2024-05-01\n",
        "eparcours": "dossier_id,exchanged_at\nd6,2024-04-02\nd7,2024-06-15\n",
    }
    result = compute_indicators(export(tmp_path, **optional), DATE, TARGETS)
    assert result["optional_indicators"] == ["eprescription_imports", "eparcours_exchanges"]
    a, b, total = result["essms"][A], result["essms"][B], result["total"]
    assert (a["eprescription_imports"], a["eparcours_exchanges"]) == (3, 0)
    assert (b["eprescription_imports"], b["eparcours_exchanges"]) == (0, 2)
    assert (total["eprescription_imports"], total["eparcours_exchanges"]) == (3, 2)
    # No target (U-OPTIONAL): the verdicts are the same as without them.
    assert a["targets_met"] == plain["essms"][A]["targets_met"]


def test_monthly_series_first_over_three_months_then_month_by_month(tmp_path):
    result = compute_indicators(
        export(tmp_path), DATE, TARGETS, monthly_from=dt.date(2024, 4, 15), series_window_months=1
    )
    windows = [(m["measurement_date"], m["window_start"], m["window_months"]) for m in result["monthly"]]
    assert windows == [
        ("2024-04-30", "2024-02-01", 3),
        ("2024-05-31", "2024-05-01", 1),
        ("2024-06-30", "2024-06-01", 1),
    ]
    # May, by hand for A: p1 and p4 present (p2 and p5 left in March/April, p3 comes on 30/06); d1 updated on 02/05,
    # with a PP, no event in May; message m2; p1's DMP fed on 10/05.
    may = result["monthly"][1]["essms"][A]
    assert (may["people_accompanied"], may["active_dossiers"], may["active_with_pp"], may["active_with_event"]) == (
        2,
        1,
        1,
        0,
    )
    assert (may["mss_messages"], may["dmp_people_fed"], may["active_rate"], may["agenda_rate"]) == (1, 1, 0.5, 0.0)
    # June: p1, p3 (admitted on the date), p4; only d3 updated in June, PP dated on the date.
    june = result["monthly"][2]["essms"][A]
    assert (june["people_accompanied"], june["active_dossiers"], june["active_with_pp"], june["mss_messages"]) == (
        3,
        1,
        1,
        1,
    )
    # The main measure is unchanged by the series.
    assert result["essms"][A]["people_accompanied"] == 4


def test_the_cli_gives_the_2022_monthly_series_and_refuses_a_series_after_the_date(tmp_path):
    import json

    from click.testing import CliRunner

    from esms_numerique.cli import main

    export(tmp_path)
    out = tmp_path / "serie.json"
    args = ["indicateurs", "calculer", str(tmp_path), "--date", "2024-06-30", "--campaign", "2022"]
    result = CliRunner().invoke(main, [*args, "--monthly-from", "2024-04-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [m["window_months"] for m in data["monthly"]] == [3, 1, 1]
    rolling = CliRunner().invoke(main, [*args[:-1], "2024", "--monthly-from", "2024-05-01"])
    assert rolling.exit_code == 0, rolling.output
    assert [m["window_months"] for m in json.loads(rolling.output)["monthly"]] == [3, 3]
    bad = CliRunner().invoke(main, [*args, "--monthly-from", "2024-07-01"])
    assert bad.exit_code == 2 and "--monthly-from 01/07/2024 est après la date de mesure" in bad.output


def test_a_parquet_file_s_lines_count_from_one(tmp_path):
    import duckdb

    export(tmp_path, dossiers=DOSSIERS + "d1,350000022,p9,2024-01-01,,,2024-05-01\n")
    path = tmp_path / "dossiers.csv"
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{path}', all_varchar = true)) TO '{tmp_path / 'dossiers.parquet'}' "
        "(FORMAT parquet)"
    )
    path.unlink()
    with pytest.raises(ExportError, match=r"dossiers.parquet, ligne 8 : dossier_id « d1 » en double \(déjà ligne 1\)"):
        compute_indicators(tmp_path, DATE, TARGETS)
