"""The fast FINESS import (DECISION D-FINESS-FAST-IMPORT): the column reader returns what the line-by-line reader
returns, a re-import is recognised before any reading, and a later extract only rewrites the lines that changed —
with the same report, the same registry and the same French errors as a full import."""

from __future__ import annotations

import pytest

from esms_numerique.registry import extract as reader
from esms_numerique.registry.demo import generate
from esms_numerique.registry.extract import STRUCTUREET, ExtractError, parse_et
from esms_numerique.registry.models import Establishment, LegalEntity, Snapshot
from esms_numerique.registry.services import import_extracts
from esms_numerique.rules.finess import with_key

from .test_import import et_line, extract, state

pytestmark = pytest.mark.django_db

CORSICA = with_key("2A000001")  # a Corsican number whose key the platform leaves to the ARS


def _records(parsed) -> dict:
    return {
        key: {name: value for name, value in row.items() if value is not None and name != "source_digest"}
        for key, row in parsed.records.items()
    }


def _both(data: bytes):
    fast = reader._fast_et(reader._Reader("f.csv", data, None))
    slow = reader._parse_et_lines(reader._Reader("f.csv", data, None))
    return fast, slow


@pytest.mark.parametrize("legacy", [False, True])
def test_the_column_reader_returns_what_the_line_reader_returns(tmp_path, legacy):
    files = generate(tmp_path, "small", seed=11, legacy=legacy)
    fast, slow = _both(files.et.read_bytes())
    assert _records(fast) == _records(slow)
    assert fast.lines == slow.lines
    assert len(fast) == len(slow) > 400


def test_odd_but_valid_cells_are_checked_by_the_reference_functions():
    siret_spaced = "420 841 843 39715"  # stdnum accepts separators
    la_poste = "35600000049837"  # La Poste: digits summing to a multiple of 5, no Luhn
    lines = [
        et_line("350000022"),
        et_line(" 350001004 "),
        et_line(CORSICA.lower(), department="2A"),
        et_line("350090007").replace(";;2001-05-01", f";{siret_spaced};;;;;;;2001-05-01", 0),
    ]
    row = dict.fromkeys(STRUCTUREET, "")
    row.update(section="structureet", nofinesset=" 350090015 ", nofinessej="350000014", departement="35")
    row.update(siret=la_poste, dateouv="01/05/2001", maj="2024-01-02T10:00:00")
    lines.append(";".join(row[f] for f in STRUCTUREET))
    data = "\r\n".join(["finess;etalab;1;2024-01-03", *lines, "", "geolocalisation;350000022;1.5;2;src;"]) + "\r\n"
    fast, slow = _both(data.encode("cp1252"))
    assert _records(fast) == _records(slow)
    assert fast.records["350090015"]["dateouv"].isoformat() == "2001-05-01"
    assert fast.records["350000022"]["coordxet"] == 1.5
    assert fast.lines == slow.lines


def test_a_reimport_is_recognised_by_its_checksum_before_any_reading(monkeypatch):
    data = extract(et_line("350000022"), et_line("350001004"))
    import_extracts("janvier.csv", data)
    before = state()

    def no_reading(*args, **kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr("esms_numerique.registry.services.parse_et", no_reading)
    report = import_extracts("janvier-bis.csv", data)
    assert report.already_imported
    assert "Extraction du 03/01/2024 déjà importée" in report.summary()
    assert state() == before


def test_a_later_extract_rewrites_only_the_lines_that_changed(monkeypatch):
    import_extracts(
        "janvier.csv",
        extract(et_line("350000022"), et_line("350001004"), et_line("350090007"), et_line(CORSICA, department="2A")),
    )
    import_extracts(
        "fevrier.csv",
        extract(
            et_line("350000022"),
            et_line("350001004"),
            et_line(CORSICA, "350000014", department="2A"),
            meta="finess;etalab;2;2024-02-01",
        ),
    )
    assert Establishment.objects.get(finess_et="350090007").closed_snapshot is not None
    parsed = []
    real = parse_et
    monkeypatch.setattr(
        "esms_numerique.registry.services.parse_et", lambda *a, **k: parsed.append(real(*a, **k)) or parsed[-1]
    )
    report = import_extracts(
        "avril.csv",
        extract(
            et_line("350000022"),
            et_line("350001004", name="EHPAD RENOMME"),
            et_line("350090007"),  # back in the extract: reopened
            et_line(CORSICA, department="2A"),
            et_line("350090015"),
            meta="finess;etalab;3;2024-04-02",
        ),
    )
    assert (report.added, report.changed, report.closed, report.unchanged) == (1, 2, 0, 2)
    assert parsed[0].skipped == 2 and sorted(parsed[0].numbers) == ["350001004", "350090007", "350090015"]
    assert Establishment.objects.get(finess_et="350001004").name == "EHPAD RENOMME"
    assert Establishment.objects.get(finess_et="350090007").closed_snapshot is None
    assert Establishment.objects.filter(closed_snapshot=None).count() == 5
    snapshot = Snapshot.objects.filter(kind="et").order_by("-id").first()
    assert (snapshot.added, snapshot.changed, snapshot.closed, snapshot.unchanged) == (1, 2, 0, 2)


def test_a_row_edited_elsewhere_is_compared_again_at_the_next_import():
    import_extracts("janvier.csv", extract(et_line("350000022"), et_line("350001004")))
    edited = Establishment.objects.get(finess_et="350000022")
    edited.name = "NOM SAISI A LA MAIN"
    edited.save()
    assert Establishment.objects.get(pk=edited.pk).source_digest == ""
    report = import_extracts(
        "avril.csv",
        extract(et_line("350000022"), et_line("350001004", maj="2024-03-01"), meta="finess;etalab;2;2024-04-02"),
    )
    assert (report.changed, report.unchanged) == (2, 0)
    assert Establishment.objects.get(pk=edited.pk).name == "EHPAD TEST"
    assert Establishment.objects.exclude(source_digest="").count() == 2


def test_errors_span_the_whole_file_when_unchanged_lines_are_skipped():
    import_extracts("janvier.csv", extract(et_line("350000022"), et_line("350001004")))
    before = state()
    cases = [
        (
            extract(et_line("350000022"), et_line("350001004"), et_line("350000022")),
            4,
            "FINESS en double (déjà ligne 2)",
        ),
        (extract(et_line("350000022"), et_line("350090008")), 3, "clé de contrôle fausse"),
        (
            extract(et_line("350000022"), "geolocalisation;350090007;1;2;src;2024-01-01", et_line("350001004")),
            3,
            "géolocalisation d'un établissement absent du fichier",
        ),
    ]
    for data, line, reason in cases:
        with pytest.raises(ExtractError) as raised:
            import_extracts("mauvais.csv", data.replace(b"2024-01-03", b"2024-05-03", 1))
        assert (raised.value.file, raised.value.line) == ("mauvais.csv", line)
        assert reason in str(raised.value)
        assert state() == before


def test_ej_lines_unchanged_are_skipped_and_coverage_still_spans_the_file(tmp_path):
    files = generate(tmp_path, "small", seed=5)
    et, ej = files.et.read_bytes(), files.ej.read_bytes()
    import_extracts(files.et.name, et, files.ej.name, ej)
    entities = LegalEntity.objects.count()
    renamed = et.replace(b"(DONN\xc3\x89ES SYNTH\xc3\x89TIQUES)", b"(SYNTHETIQUE)", 1)
    report = import_extracts("et-avril.csv", renamed, "ej-avril.csv", ej)
    assert (report.changed, report.ej_added, report.ej_changed) == (1, 0, 0)
    assert LegalEntity.objects.count() == entities
    first_ej = ej.split(b"\n")[1].split(b";")[1].decode()
    missing = b"\n".join(line for line in ej.split(b"\n") if f";{first_ej};".encode() not in line[:22])
    with pytest.raises(ExtractError, match=f"entité juridique {first_ej} absente de l'extraction EJ ej-mai.csv"):
        import_extracts("et-mai.csv", renamed, "ej-mai.csv", missing)
