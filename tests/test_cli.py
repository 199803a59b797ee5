"""`esms simulate` and `esms sons`: JSON out, French trace, French errors with exit status 2."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from esms_numerique.cli import main
from esms_numerique.registry.extract import STRUCTUREET

from .registry.test_import import et_line, extract

ISSUE_EXAMPLE = {
    "campaign": "2024",
    "filed_on": "2024-03-10",
    "porteur": {"finess_ej": "350000014", "vat_regime": "TTC", "is_ght": False},
    "solution": {"segur_referenced": True, "sad_referenced": False},
    "essms": [
        {
            "finess_et": "350000022",
            "finess_ej": "350000014",
            "department": "35",
            "sector": "PA",
            "operation": "acquisition",
            "og_essms_count": 12,
            "saad_hours": {"medico_social": 800, "total": 1000},
        }
    ],
    "equipment": {"quotes_eur": 50000, "spent_eur": 45000},
    "amoa_eur": 60000,
}
OUTPUT_KEYS = {
    "campaign",
    "desk",
    "pivot_region",
    "essms_count",
    "usage_eur",
    "software_eur",
    "equipment_eur",
    "amoa_eur",
    "total_eur",
    "advance_eur",
    "balance_eur",
    "findings",
    "lines",
}


def test_simulate_a_file_prints_the_result_as_json(tmp_path: Path):
    source = tmp_path / "projet.json"
    source.write_text(json.dumps(ISSUE_EXAMPLE), encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(source)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= OUTPUT_KEYS
    assert (data["desk"], data["pivot_region"], data["total_eur"]) == ("regional", "53", 86800)
    assert {"rule", "verdict", "message", "finess_et", "source"} <= set(data["findings"][0])
    assert {"rule", "finess_et", "rank", "amount_eur", "parameter", "source"} <= set(data["lines"][0])


def test_simulate_stdin_with_explain_prints_a_french_trace():
    result = CliRunner().invoke(main, ["simulate", "-", "--explain"], input=json.dumps(ISSUE_EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "Guichet : régional (ARS) — ARS pivot : Bretagne (53)" in result.output
    assert "F-USAGE · ESSMS 350000022 · rang 1" in result.output
    assert "esms_numerique/2024/funding/usage.acquisition_full_rate" in result.output
    assert "86\u202f800 €" in result.output


def test_malformed_input_exits_2_naming_the_field():
    bad = {**ISSUE_EXAMPLE, "essms": [{**ISSUE_EXAMPLE["essms"][0], "sector": "EHPAD", "og_essms_count": "x"}]}
    result = CliRunner().invoke(main, ["simulate", "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    assert 'champ « essms[0].sector » : valeur "EHPAD" inconnue' in result.output
    assert "champ « essms[0].og_essms_count » : nombre entier attendu" in result.output


def test_bad_json_and_missing_file_are_refused_in_french(tmp_path: Path):
    result = CliRunner().invoke(main, ["simulate", "-"], input="{campaign: 2024")
    assert result.exit_code == 2
    assert "JSON illisible, ligne 1, colonne 2" in result.output
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "absent.json")])
    assert result.exit_code == 1
    assert "impossible de lire" in result.output


def test_sons_order():
    order = {
        "couloir": "MS1",
        "og_essms_count": 35,
        "finess_et": ["350000022"],
        "ordered_on": "2023-05-01",
        "essms": [{"finess_et": "350000022", "sector": "PA", "category": "500", "category_label": "EHPAD"}],
    }
    result = CliRunner().invoke(main, ["sons", "-"], input=json.dumps(order))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["tranche"], data["rate_eur"], data["total_eur"]) == ("E", 1232, 1232)
    assert [(f["rule"], f["verdict"]) for f in data["findings"] if f["rule"] == "S-ELIG"] == [("S-ELIG", "ok")]
    result = CliRunner().invoke(main, ["sons", "-", "--explain"], input=json.dumps(order))
    assert "Tranche E : 1\u202f232 € TTC par ESSMS" in result.output
    result = CliRunner().invoke(main, ["sons", "-"], input=json.dumps({**order, "couloir": "MS9"}))
    assert result.exit_code == 2
    assert "champ « couloir »" in result.output


def _et_row(finess_et: str, category: str, label: str) -> str:
    fields = et_line(finess_et, category=category).split(";")
    fields[STRUCTUREET.index("libcategetab")] = label
    return ";".join(fields)


@pytest.mark.django_db
def test_sons_reads_each_essms_sector_from_the_registry(tmp_path: Path):
    """A CHRS (AHI) ordered in MS1 is refused and not paid; an ESSMS unknown to the registry is signalled."""
    source = tmp_path / "etalab-cs1100507-stock-20240103-0000.csv"
    source.write_bytes(extract(_et_row("350000022", "500", "EHPAD"), _et_row("350001004", "214", "CHRS")))
    assert CliRunner().invoke(main, ["finess", "import", str(source)]).exit_code == 0
    unknown = "350001012"
    order = {
        "couloir": "MS1",
        "og_essms_count": 35,
        "finess_et": ["350000022", "350001004", unknown],
        "ordered_on": "2023-05-01",
    }
    result = CliRunner().invoke(main, ["sons", "-"], input=json.dumps(order))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    elig = [(f["verdict"], f["finess_et"], f["message"]) for f in data["findings"] if f["rule"] == "S-ELIG"]
    assert elig[0][:2] == ("a_apprecier", unknown)
    assert elig[1:] == [
        (
            "bloquant",
            "350001004",
            "L'ESSMS 350001004 (catégorie 214 CHRS, secteur AHI) relève du couloir MS3, pas de MS1.",
        )
    ]
    assert (data["essms_count"], data["total_eur"]) == (2, 2464)


def test_dates_missing_from_the_input_are_the_platforms(settings, monkeypatch):
    from esms_numerique.rules import simulator

    settings.ESMS_TODAY = "2022-06-01"
    order = {
        "couloir": "MS1",
        "og_essms_count": 35,
        "finess_et": ["350000022"],
        "essms": [{"finess_et": "350000022", "sector": "PA"}],
    }
    result = CliRunner().invoke(main, ["sons", "-"], input=json.dumps(order))
    assert result.exit_code == 0, result.output
    assert "base DREES du 3 janvier 2022" in result.output

    seen = []
    original = simulator.CampaignContext
    monkeypatch.setattr(simulator, "CampaignContext", lambda c, on, tree: seen.append(on) or original(c, on, tree))
    undated = {key: value for key, value in ISSUE_EXAMPLE.items() if key != "filed_on"}
    assert CliRunner().invoke(main, ["simulate", "-"], input=json.dumps(undated)).exit_code == 0
    assert seen == [dt.date(2022, 6, 1)]

    result = CliRunner().invoke(main, ["params", "list"])
    assert "reference_snapshot = base DREES du 3 janvier 2022" in result.output
    settings.ESMS_TODAY = "2023-06-01"
    result = CliRunner().invoke(main, ["params", "list"])
    assert "reference_snapshot = première base FINESS publiée en 2023" in result.output
    result = CliRunner().invoke(main, ["params", "list", "--on", "2022-06-01"])
    assert "reference_snapshot = base DREES du 3 janvier 2022" in result.output


def test_installed_entry_point_runs():
    esms = Path(sys.executable).parent / "esms"
    run = subprocess.run(
        [esms, "simulate", "-"], input=json.dumps(ISSUE_EXAMPLE), capture_output=True, text=True, check=True
    )
    assert json.loads(run.stdout)["total_eur"] == 86800
    run = subprocess.run([esms, "params", "check"], capture_output=True, text=True, check=True)
    assert "conformes" in run.stdout


def test_rules_core_does_not_import_django():
    code = "import sys, esms_numerique.rules.simulator, esms_numerique.rules.sons; print('django' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
