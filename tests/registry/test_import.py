"""Importing FINESS extracts: every bad input is refused in French and leaves the registry as it was."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.registry.demo import generate
from esms_numerique.registry.extract import STRUCTUREET, ExtractError, parse_date
from esms_numerique.registry.models import Establishment, LegalEntity, Snapshot
from esms_numerique.registry.services import import_extracts, og_essms_count, override_sector
from esms_numerique.rules.finess import with_key

pytestmark = pytest.mark.django_db

META = "finess;etalab;42;2024-01-03"


def et_line(
    finess_et: str,
    finess_ej: str = "350000014",
    category: str = "500",
    department: str = "35",
    maj: str = "2024-01-02",
    name: str = "EHPAD TEST",
) -> str:
    row = dict.fromkeys(STRUCTUREET, "")
    row.update(
        section="structureet",
        nofinesset=finess_et,
        nofinessej=finess_ej,
        rs=name,
        departement=department,
        libdepartement="ILLE ET VILAINE",
        categetab=category,
        libcategetab="EHPAD",
        categagretab="4401",
        siret="",
        dateouv="2001-05-01",
        maj=maj,
    )
    return ";".join(row[f] for f in STRUCTUREET)


def extract(*lines: str, meta: str = META) -> bytes:
    return ("\n".join([meta, *lines]) + "\n").encode("utf-8")


def state() -> tuple:
    return (
        list(Establishment.objects.values_list("finess_et", "name", "closed_snapshot_id").order_by("finess_et")),
        list(LegalEntity.objects.values_list("finess_ej", "name").order_by("finess_ej")),
        Snapshot.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def small_files(tmp_path: Path):
    return generate(tmp_path, "small", seed=7)


def test_the_small_national_layout_imports_and_reimporting_changes_nothing(small_files):
    et, ej = small_files.et.read_bytes(), small_files.ej.read_bytes()
    report = import_extracts(small_files.et.name, et, small_files.ej.name, ej)
    assert report.added == Establishment.objects.count() > small_files.essms  # ESSMS plus a few hospitals
    assert Establishment.objects.exclude(sector="").count() == small_files.essms
    assert LegalEntity.objects.filter(from_ej_extract=True).count() == small_files.ogs
    assert report.snapshot_date == dt.date(2024, 1, 3)
    before = state()
    again = import_extracts(small_files.et.name, et, small_files.ej.name, ej)
    assert again.already_imported
    assert state() == before
    assert "déjà importée" in again.summary()
    assert verify_chain() == []


def test_legacy_windows_1252_extract_with_french_dates(tmp_path):
    files = generate(tmp_path, "small", seed=3, legacy=True)
    raw = files.et.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    report = import_extracts(files.et.name, raw)
    assert report.added > 0
    snapshot = Snapshot.objects.get()
    assert snapshot.encoding == "cp1252"
    assert snapshot.snapshot_date == dt.date(2024, 1, 3)
    assert Establishment.objects.filter(opened_on__isnull=False).count() == report.added
    # Without the EJ extract, each EJ is created from its number and is not described yet.
    assert not LegalEntity.objects.filter(from_ej_extract=True).exists()


def test_a_later_extract_adds_changes_and_closes(tmp_path):
    first = extract(et_line("350000022"), et_line("350001004"), et_line("350090007"))
    import_extracts("janvier.csv", first)
    later = extract(
        et_line("350000022"),
        et_line("350001004", name="EHPAD RENOMME"),
        et_line("350090015"),
        meta="finess;etalab;43;2024-04-02",
    )
    report = import_extracts("avril.csv", later)
    assert (report.added, report.changed, report.closed, report.unchanged) == (1, 1, 1, 1)
    closed = Establishment.objects.get(finess_et="350090007")
    assert closed.closed_snapshot.snapshot_date == dt.date(2024, 4, 2)
    assert Establishment.objects.get(finess_et="350001004").name == "EHPAD RENOMME"
    # The OG's count read on a date sees the registry as it stood then.
    assert og_essms_count("350000014", dt.date(2024, 2, 1)) == 3
    assert og_essms_count("350000014", dt.date(2024, 5, 1)) == 3
    assert og_essms_count("350000014", dt.date(2023, 12, 1)) == 0


def test_the_ej_extract_completes_entities_created_from_establishment_lines():
    import_extracts("et.csv", extract(et_line("350000022")))
    assert LegalEntity.objects.get(finess_ej="350000014").name == ""
    ej_row = [
        "structureej",
        "350000014",
        "ASSOCIATION TEST",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "238",
        "35",
        "ILLE ET VILAINE",
        "35000 RENNES",
        "",
        "",
        "60",
        "Association",
        "",
        "",
        "1990-01-01",
        "2024-01-02",
    ]
    report = import_extracts("et2.csv", extract(et_line("350000022")), "ej.csv", extract(";".join(ej_row)))
    entity = LegalEntity.objects.get(finess_ej="350000014")
    assert (entity.name, entity.from_ej_extract, entity.region) == ("ASSOCIATION TEST", True, "53")
    assert report.ej_changed == 1


BAD_INPUTS = [
    ("vide", b"", None, None, "fichier vide"),
    ("métadonnées", extract(et_line("350000022"), meta="nofinesset;rs"), 1, None, "ligne de métadonnées"),
    ("sans enregistrement", extract(), None, None, "aucun enregistrement"),
    (
        "type inconnu",
        extract(et_line("350000022"), "structurexx;350000022"),
        3,
        "section",
        "type d'enregistrement inconnu « structurexx »",
    ),
    ("nombre de champs", extract(et_line("350000022") + ";en trop"), 2, None, "33 champs au lieu de 32"),
    ("clé fausse", extract(et_line("350000023")), 2, "nofinesset", "clé de contrôle fausse"),
    ("clé EJ fausse", extract(et_line("350000022", finess_ej="350000015")), 2, "nofinessej", "clé de contrôle fausse"),
    (
        "doublon",
        extract(et_line("350000022"), et_line("350001004"), et_line("350000022")),
        4,
        "nofinesset",
        "FINESS en double (déjà ligne 2)",
    ),
    ("date", extract(et_line("350000022", maj="31/02/2024")), 2, "maj", "date illisible « 31/02/2024 »"),
    ("département", extract(et_line("350000022", department="XX")), 2, "departement", "département inconnu « XX »"),
    (
        "géolocalisation orpheline",
        extract(et_line("350000022"), "geolocalisation;350001004;1.0;2.0;src;2024-01-01"),
        3,
        "nofinesset",
        "géolocalisation d'un établissement absent du fichier",
    ),
]


@pytest.mark.parametrize(("label", "data", "line", "field", "reason"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused_precisely_and_changes_nothing(label, data, line, field, reason):
    import_extracts("avant.csv", extract(et_line("350090007")))
    before = state()
    with pytest.raises(ExtractError) as raised:
        import_extracts("mauvais.csv", data)
    error = raised.value
    assert (error.file, error.line, error.field) == ("mauvais.csv", line, field)
    assert reason in str(error)
    assert str(error).startswith("mauvais.csv")
    assert state() == before


def test_a_truncated_file_is_named_as_such():
    data = extract(et_line("350000022"), et_line("350001004"))[:-40]
    with pytest.raises(ExtractError, match=r"mauvais.csv, ligne 3 : fichier tronqué : dernière ligne incomplète"):
        import_extracts("mauvais.csv", data)
    assert Establishment.objects.count() == 0


def test_an_establishment_whose_ej_is_missing_from_the_ej_extract():
    ej_row = ["structureej", "350000014"] + [""] * 10 + ["35"] + [""] * 10
    with pytest.raises(ExtractError) as raised:
        import_extracts(
            "et.csv",
            extract(et_line("350000022"), et_line("350001004", finess_ej=with_key("35000002"))),
            "ej.csv",
            extract(";".join(ej_row)),
        )
    assert str(raised.value) == (
        "et.csv, ligne 3, champ « nofinessej », FINESS 350001004 : entité juridique 350000022 absente de "
        "l'extraction EJ ej.csv"
    )
    assert Establishment.objects.count() == LegalEntity.objects.count() == 0


def test_hospitals_are_imported_and_the_rules_say_they_are_not_eligible():
    import_extracts("et.csv", extract(et_line("350000022"), et_line("350001004", category="355")))
    hospital = Establishment.objects.get(finess_et="350001004")
    assert hospital.sector == ""
    from esms_numerique.registry.simulation import simulate_with_registry

    result = simulate_with_registry(
        {
            "campaign": "2024",
            "filed_on": "2024-03-10",
            "operation": "upgrade",
            "solution": {"segur_referenced": True},
            "essms": [{"finess_et": "350000022"}, {"finess_et": "350001004", "sector": "PA"}],
        }
    )
    l312 = [f for f in result.findings if f.rule == "E-L312"]
    assert [(f.verdict, f.finess_et) for f in l312] == [("bloquant", "350001004")]
    assert result.usage_eur == 5000


def test_sector_override_needs_a_reason_and_is_audited():
    import_extracts("et.csv", extract(et_line("350000022", category="460")))
    establishment = Establishment.objects.get()
    assert establishment.effective_sector == "DOM"
    with pytest.raises(ValueError, match="motif est obligatoire"):
        override_sector(establishment, "PA", " ", "ars-bretagne")
    with pytest.raises(ValueError, match="secteur inconnu « XX »"):
        override_sector(establishment, "XX", "test", "ars-bretagne")
    override_sector(establishment, "PA", "Service rattaché à l'EHPAD voisin", "ars-bretagne")
    establishment.refresh_from_db()
    assert establishment.effective_sector == "PA"
    entry = AuditEntry.objects.filter(action="override_sector").get()
    assert (entry.actor, entry.before["secteur"], entry.after["secteur"]) == ("ars-bretagne", "DOM", "PA")
    assert verify_chain() == []
    AuditEntry.objects.filter(pk=entry.pk).update(reason="autre motif")
    assert verify_chain() == [f"entrée {entry.pk} : contenu modifié après coup (empreinte différente)"]


def test_dates_iso_and_french():
    assert parse_date("2024-01-03") == dt.date(2024, 1, 3)
    assert parse_date("03/01/2024") == dt.date(2024, 1, 3)
    assert parse_date(" ") is None
    with pytest.raises(ValueError):
        parse_date("2024-13-01")
