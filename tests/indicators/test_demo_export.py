"""The synthetic export: its answers are known by construction, and the computation finds them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from esms_numerique.cli import main
from esms_numerique.indicators.compute import Targets, compute_indicators
from esms_numerique.indicators.demo import MEASUREMENT_DATE, expected

TARGETS = Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7)


@pytest.mark.parametrize(("fmt", "optional"), [("csv", True), ("parquet", False)])
def test_generated_export_gives_the_known_answers(tmp_path, fmt, optional):
    result = CliRunner().invoke(
        main,
        [
            "demo",
            "dui-export",
            "--dossiers",
            "2000",
            "--establishments",
            "7",
            "--events-per-dossier",
            "3",
            "--format",
            fmt,
            "--out",
            str(tmp_path),
            *(["--with-optional"] if optional else []),
        ],
    )
    assert result.exit_code == 0, result.output
    computed = compute_indicators(tmp_path, MEASUREMENT_DATE, TARGETS)
    for finess, counts in expected(2000, 7).items():
        essms = computed["essms"][finess]
        assert (
            essms["people_accompanied"],
            essms["active_dossiers"],
            essms["active_with_pp"],
            essms["active_with_event"],
            essms["mss_messages"],
            essms["dmp_people_fed"],
        ) == (
            counts["people"],
            counts["active"],
            counts["with_pp"],
            counts["with_event"],
            counts["messages"],
            counts["fed"],
        ), finess
        if optional:
            assert (essms["eprescription_imports"], essms["eparcours_exchanges"]) == (
                counts["eprescription"],
                counts["eparcours"],
            ), finess
        else:
            assert "eprescription_imports" not in essms
    total = computed["total"]
    assert total["people_accompanied"] == 1900
    assert total["active_dossiers"] == 1700  # 100 left before the window, 200 not updated in it
    assert total["active_rate"] == round(1700 / 1900, 6)
    # File active 2023: the 2000 persons, 1900 present on 31/12 and 100 who left on 01/01/2023.
    assert computed["file_active"]["total"] == {
        "present_at_year_end": 1900,
        "definitive_exits": 100,
        "file_active": 2000,
    }
    if optional:
        # 1000 dossiers with two imports in the window; 200 with one e-parcours exchange.
        assert (total["eprescription_imports"], total["eparcours_exchanges"]) == (2000, 200)


def test_an_output_folder_with_a_quote_in_its_name(tmp_path):
    out = tmp_path / "export de l'OG"
    result = CliRunner().invoke(
        main, ["demo", "dui-export", "--dossiers", "20", "--establishments", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert compute_indicators(out, MEASUREMENT_DATE, TARGETS)["total"]["people_accompanied"] == 19
