"""Reads the DREES/etalab FINESS extracts (pure Python, no Django).

Layout (SPEC §5): `;`-separated, no header; a first metadata line `finess;etalab;NNN;YYYY-MM-DD`; then
`structureet` records of 32 fields and `geolocalisation` records of 6 fields. Legal entities come in a separate
extract of `structureej` records (field list below: the platform's reading, to check against a real file —
docs/decisions.md, D-EJ-LAYOUT).
Older files are Windows-1252 with dd/mm/yyyy dates, recent ones UTF-8 with ISO dates.

Every problem is an `ExtractError` naming the file, the line, the field and the FINESS: the caller imports all
of a file or nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from esms_numerique.rules.finess import KeyStatus, check_key

STRUCTUREET = (
    "section nofinesset nofinessej rs rslongue complrs compldistrib numvoie typvoie voie compvoie lieuditbp "
    "commune departement libdepartement ligneacheminement telephone telecopie categetab libcategetab "
    "categagretab libcategagretab siret codeape codemft libmft codesph libsph dateouv dateautor maj numuai"
).split()
GEOLOCALISATION = "section nofinesset coordxet coordyet sourcecoordet datemaj".split()
STRUCTUREEJ = (
    "section nofinessej rs rslongue complrs compldistrib numvoie typvoie voie compvoie lieuditbp commune "
    "departement libdepartement ligneacheminement telephone telecopie statutjuridique libstatutjuridique "
    "siren codeape datecrea maj"
).split()
ET_DATES = ("dateouv", "dateautor", "maj")
EJ_DATES = ("datecrea", "maj")
METADATA = re.compile(r"^finess;etalab;[^;]*;(\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4})$")


@dataclass
class ExtractError(Exception):
    file: str
    line: int | None
    reason: str
    field: str | None = None
    finess: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.field:
            where.append(f"champ « {self.field} »")
        if self.finess:
            where.append(f"FINESS {self.finess}")
        return f"{', '.join(where)} : {self.reason}"


@dataclass
class Extract:
    kind: str  # "et" | "ej"
    name: str
    snapshot_date: dt.date
    encoding: str
    records: dict[str, dict] = field(default_factory=dict)  # FINESS → fields
    lines: dict[str, int] = field(default_factory=dict)  # FINESS → line number

    def add(self, number: int, key_field: str, row: dict) -> None:
        """Keeps the record under its FINESS, which must appear once in the file."""
        finess = row[key_field]
        if finess in self.records:
            raise ExtractError(
                self.name, number, f"FINESS en double (déjà ligne {self.lines[finess]})", key_field, finess
            )
        self.records[finess] = row
        self.lines[finess] = number


def decode(name: str, data: bytes) -> tuple[str, str]:
    if not data.strip():
        raise ExtractError(name, None, "fichier vide")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict"), "cp1252"


def parse_date(value: str) -> dt.date | None:
    """ISO (recent files) or dd/mm/yyyy (old ones); empty is None. Raises ValueError otherwise."""
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
        day, month, year = value.split("/")
        return dt.date(int(year), int(month), int(day))
    return dt.date.fromisoformat(value[:10])


def _finess(name: str, number: int, fieldname: str, value: str, optional: bool = False) -> str:
    value = value.strip().upper()
    if not value and optional:
        return ""
    status = check_key(value)
    if status == KeyStatus.MALFORMED:
        raise ExtractError(name, number, "numéro FINESS mal formé (9 caractères attendus)", fieldname, value or None)
    if status == KeyStatus.BAD_KEY:
        raise ExtractError(name, number, "clé de contrôle fausse", fieldname, value)
    return value


class _Reader:
    def __init__(self, name: str, data: bytes, progress: Callable[[int], None] | None):
        self.name = name
        self.text, self.encoding = decode(name, data)
        self.progress = progress or (lambda n: None)
        self.truncated_last = not self.text.endswith("\n")
        self.lines = self.text.splitlines()
        first = self.lines[0].strip() if self.lines else ""
        match = METADATA.match(first)
        if not match:
            raise ExtractError(name, 1, "ligne de métadonnées « finess;etalab;NNN;AAAA-MM-JJ » attendue")
        try:
            self.snapshot_date = parse_date(match.group(1))
        except ValueError:
            raise ExtractError(name, 1, f"date d'extraction illisible « {match.group(1)} »") from None
        if len(self.lines) < 2:
            raise ExtractError(name, None, "aucun enregistrement après la ligne de métadonnées")

    def records(self):
        last = len(self.lines)
        for number, line in enumerate(self.lines[1:], start=2):
            if number % 5000 == 0:
                self.progress(5000)
            if not line.strip():
                continue
            cells = line.split(";")
            yield number, cells, number == last and self.truncated_last
        self.progress(len(self.lines) % 5000)

    def row(self, number: int, cells: list[str], fields: list[str], truncated: bool, *finess_fields: str) -> dict:
        """The record as a dict of its named fields, its FINESS numbers checked."""
        if len(cells) != len(fields):
            reason = f"{len(cells)} champs au lieu de {len(fields)} pour un enregistrement {fields[0]}"
            if truncated:
                reason = f"fichier tronqué : dernière ligne incomplète ({reason})"
            raise ExtractError(self.name, number, reason)
        row = dict(zip(fields, (c.strip() for c in cells), strict=True))
        for name in finess_fields:
            row[name] = _finess(self.name, number, name, row[name])
        return row

    def identifier(self, number: int, row: dict, name: str, is_valid, finess: str) -> None:
        if row[name] and not is_valid(row[name]):
            raise ExtractError(self.name, number, f"{name.upper()} invalide « {row[name]} »", name, finess)

    def dates(self, number: int, row: dict, names: tuple[str, ...], finess: str) -> None:
        for name in names:
            try:
                row[name] = parse_date(row[name])
            except ValueError:
                raise ExtractError(self.name, number, f"date illisible « {row[name]} »", name, finess) from None


def parse_et(name: str, data: bytes, progress: Callable[[int], None] | None = None) -> Extract:
    reader = _Reader(name, data, progress)
    extract = Extract("et", name, reader.snapshot_date, reader.encoding)
    geolocations: list[tuple[int, dict]] = []
    for number, cells, truncated in reader.records():
        section = cells[0]
        if section == "structureet":
            row = reader.row(number, cells, STRUCTUREET, truncated, "nofinesset", "nofinessej")
            extract.add(number, "nofinesset", row)
            reader.identifier(number, row, "siret", stdnum_siret.is_valid, row["nofinesset"])
            reader.dates(number, row, ET_DATES, row["nofinesset"])
        elif section == "geolocalisation":
            geolocations.append((number, reader.row(number, cells, GEOLOCALISATION, truncated, "nofinesset")))
        else:
            raise ExtractError(name, number, f"type d'enregistrement inconnu « {section[:40]} »", "section")
    for number, row in geolocations:
        finess = row["nofinesset"]
        if finess not in extract.records:
            raise ExtractError(
                name, number, "géolocalisation d'un établissement absent du fichier", "nofinesset", finess
            )
        target = extract.records[finess]
        for coordinate in ("coordxet", "coordyet"):
            try:
                target[coordinate] = float(row[coordinate]) if row[coordinate] else None
            except ValueError:
                raise ExtractError(
                    name, number, f"coordonnée illisible « {row[coordinate]} »", coordinate, finess
                ) from None
        target["sourcecoordet"] = row["sourcecoordet"]
        try:
            target["datemajcoord"] = parse_date(row["datemaj"])
        except ValueError:
            raise ExtractError(name, number, f"date illisible « {row['datemaj']} »", "datemaj", finess) from None
    if not extract.records:
        raise ExtractError(name, None, "aucun établissement (structureet) dans le fichier")
    return extract


def parse_ej(name: str, data: bytes, progress: Callable[[int], None] | None = None) -> Extract:
    reader = _Reader(name, data, progress)
    extract = Extract("ej", name, reader.snapshot_date, reader.encoding)
    for number, cells, truncated in reader.records():
        if cells[0] != "structureej":
            raise ExtractError(name, number, f"type d'enregistrement inconnu « {cells[0][:40]} »", "section")
        row = reader.row(number, cells, STRUCTUREEJ, truncated, "nofinessej")
        extract.add(number, "nofinessej", row)
        reader.identifier(number, row, "siren", stdnum_siren.is_valid, row["nofinessej"])
        reader.dates(number, row, EJ_DATES, row["nofinessej"])
    return extract
