"""`esms finess import`, `esms simulate` with FINESS alone, `esms audit verify`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from esms_numerique.audit.models import AuditEntry
from esms_numerique.cli import main
from esms_numerique.registry.models import Establishment

from .test_import import et_line, extract

pytestmark = pytest.mark.django_db


def test_import_then_simulate_finess_alone_then_verify_the_audit_log(tmp_path):
    source = tmp_path / "etalab-cs1100507-stock-20240103-0000.csv"
    source.write_bytes(extract(et_line("350000022"), et_line("350001004", category="354")))
    result = CliRunner().invoke(main, ["finess", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "2 établissement(s) ajouté(s)" in result.output

    project = {
        "campaign": "2024",
        "filed_on": "2024-03-10",
        "operation": "acquisition",
        "solution": {"segur_referenced": True},
        "essms": [{"finess_et": "350000022"}, {"finess_et": "350001004"}],
    }
    result = CliRunner().invoke(main, ["simulate", "-"], input=json.dumps(project))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [e["sector"] for e in data["essms"]] == ["PA", "DOM"]
    assert data["total_eur"] == 2 * (7000 + 14000)

    assert CliRunner().invoke(main, ["audit", "verify"]).stdout.strip() == "Journal d'audit intact."
    AuditEntry.objects.update(actor="quelqu'un d'autre")
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "contenu modifié après coup" in result.output


def test_a_bad_file_exits_2_and_imports_nothing(tmp_path):
    source = tmp_path / "mauvais.csv"
    source.write_bytes(extract(et_line("350000022"), et_line("350000023")))
    result = CliRunner().invoke(main, ["finess", "import", str(source)])
    assert result.exit_code == 2
    assert (
        "Import refusé, le répertoire est inchangé : mauvais.csv, ligne 3, champ « nofinesset », "
        "FINESS 350000023 : clé de contrôle fausse"
    ) in result.output
    assert not Establishment.objects.exists()
