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
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

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
    """The records of an extract, by column, in file order (DECISION D-FINESS-FAST-IMPORT (docs/decisions.md))."""

    kind: str  # "et" | "ej"
    name: str
    snapshot_date: dt.date
    encoding: str
    key: str  # the FINESS field that names a record: nofinesset | nofinessej
    columns: dict[str, list] = field(default_factory=dict)  # field → one value per record
    line_numbers: list[int] = field(default_factory=list)  # the line of each record
    # Records whose lines are the same as at the last import (`known`) are left out of the columns; these keep the
    # whole file's FINESS numbers (ET, and the EJ of each ET) and lines, for the checks that span it.
    skipped: int = 0
    file_numbers: list[str] | None = None
    file_ej_numbers: list[str] | None = None
    file_line_numbers: list[int] | None = None

    def __len__(self) -> int:
        return len(self.line_numbers)

    @property
    def all_numbers(self) -> list[str]:
        return self.numbers if self.file_numbers is None else self.file_numbers

    @property
    def all_ej_numbers(self) -> list[str]:
        return self.columns["nofinessej"] if self.file_ej_numbers is None else self.file_ej_numbers

    @property
    def all_line_numbers(self) -> list[int]:
        return self.line_numbers if self.file_line_numbers is None else self.file_line_numbers

    @property
    def numbers(self) -> list[str]:
        return self.columns[self.key]

    @cached_property
    def records(self) -> dict[str, dict]:
        """FINESS → fields (for tests and error paths; the import reads the columns)."""
        names = list(self.columns)
        return {
            row[self.key]: row
            for row in (dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True))
        }

    @cached_property
    def lines(self) -> dict[str, int]:
        return dict(zip(self.numbers, self.line_numbers, strict=True))

    @classmethod
    def from_records(cls, kind, name, snapshot_date, encoding, key, records: dict, lines: dict) -> Extract:
        names: dict[str, None] = {}
        for row in records.values():
            names.update(dict.fromkeys(row))
        columns = {n: [row.get(n) for row in records.values()] for n in names}
        return cls(kind, name, snapshot_date, encoding, key, columns, [lines[f] for f in records])


class _Records:
    """What the line-by-line reader fills: FINESS → fields, FINESS → line."""

    def __init__(self, name: str):
        self.name = name
        self.records: dict[str, dict] = {}
        self.lines: dict[str, int] = {}

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


def _parse_et_lines(reader: _Reader) -> Extract:
    """The reference reader, line by line: the first problem in file order is the error."""
    name = reader.name
    extract = _Records(name)
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
    return Extract.from_records(
        "et", name, reader.snapshot_date, reader.encoding, "nofinesset", extract.records, extract.lines
    )


def _parse_ej_lines(reader: _Reader) -> Extract:
    """The reference reader, line by line: the first problem in file order is the error."""
    name = reader.name
    extract = _Records(name)
    for number, cells, truncated in reader.records():
        if cells[0] != "structureej":
            raise ExtractError(name, number, f"type d'enregistrement inconnu « {cells[0][:40]} »", "section")
        row = reader.row(number, cells, STRUCTUREEJ, truncated, "nofinessej")
        extract.add(number, "nofinessej", row)
        reader.identifier(number, row, "siren", stdnum_siren.is_valid, row["nofinessej"])
        reader.dates(number, row, EJ_DATES, row["nofinessej"])
    return Extract.from_records(
        "ej", name, reader.snapshot_date, reader.encoding, "nofinessej", extract.records, extract.lines
    )


# --- The fast reader (DECISION D-FINESS-FAST-IMPORT (docs/decisions.md)) ---------------------------------------
# It reads by column and checks each column at C speed (split, zip, map, set, dict look-ups). It returns exactly
# what the reference reader returns, or hands the file to it: whenever a value is not plainly valid, the cell is
# checked by the reference function, and if any check fails the whole file is read line by line again, so that the
# error is the first in file order, worded as ever.


class _Defer(Exception):
    """The fast reader met something it leaves to the reference reader."""


# Luhn by chunks of three digits (E-FINESS, SIRET, SIREN): the sum of a chunk whose middle digit is doubled, and of
# one whose two outer digits are doubled; a precomputed table instead of stdnum's generic loop per number.
_DIGITS = "0123456789"
_TWICE = tuple(sum(divmod(2 * digit, 10)) for digit in range(10))
_MIDDLE = {a + b + c: int(a) + _TWICE[int(b)] + int(c) for a in _DIGITS for b in _DIGITS for c in _DIGITS}
_OUTER = {a + b + c: _TWICE[int(a)] + int(b) + _TWICE[int(c)] for a in _DIGITS for b in _DIGITS for c in _DIGITS}
_PAIR = {a + b: _TWICE[int(a)] + int(b) for a in _DIGITS for b in _DIGITS}
_NOT = 0.5  # a chunk that is not three digits: no sum is then a multiple of 10


def _luhn9(value: str) -> bool:
    """Nine digits with a valid Luhn key (a FINESS outside Corsica, a SIREN)."""
    get_m, get_o = _MIDDLE.get, _OUTER.get
    return len(value) == 9 and (get_m(value[:3], _NOT) + get_o(value[3:6], _NOT) + get_m(value[6:], _NOT)) % 10 == 0


def _siret_plain(value: str) -> bool:
    """Fourteen digits whose SIRET and SIREN keys are valid, outside La Poste (left to stdnum)."""
    get_m, get_o = _MIDDLE.get, _OUTER.get
    return (
        len(value) == 14
        and not value.startswith("356000000")
        and (
            get_o(value[:3], _NOT)
            + get_m(value[3:6], _NOT)
            + get_o(value[6:9], _NOT)
            + get_m(value[9:12], _NOT)
            + _PAIR.get(value[12:], _NOT)
        )
        % 10
        == 0
        and _luhn9(value[:9])
    )


def _fast_finess(values: list[str]) -> list[str]:
    """A FINESS column as the reference reader leaves it (`_finess`), or _Defer when one is refused."""
    odd = [i for i, value in enumerate(values) if not _luhn9(value)]
    if not odd:
        return values
    values = list(values)
    for i in odd:  # Corsica, lower case, inner spaces: the reference check decides
        value = values[i].strip().upper()
        if check_key(value) in (KeyStatus.MALFORMED, KeyStatus.BAD_KEY):
            raise _Defer
        values[i] = value
    return values


def _fast_identifiers(values: list[str], plain, is_valid) -> None:
    for value in values:
        if value and not plain(value) and not is_valid(value):
            raise _Defer


def _fast_dates(values: list[str]) -> list:
    parsed: dict[str, dt.date | None] = {}
    for value in set(values):
        try:
            parsed[value] = parse_date(value)
        except ValueError:
            raise _Defer from None
    return list(map(parsed.__getitem__, values))


def _fast_split(lines: list[str], width: int) -> list[list[str]]:
    """The columns of same-section lines, stripped as the reference reader strips them."""
    rows = [line.split(";") for line in lines]
    if any(len(row) != width for row in rows):
        raise _Defer
    return [list(map(str.strip, column)) for column in zip(*rows, strict=True)]


def _plain_keys(lines: list[str], start: int) -> list[str] | None:
    """The FINESS at a fixed place of each line (nine upper-case ASCII letters or digits followed by `;`, as the
    reader would leave it), or None if one is not that plain."""
    end = start + 9
    if not lines:
        return []
    keys = [line[start:end] for line in lines]
    separators = "".join([line[end : end + 1] for line in lines])
    joined = "".join(keys)
    plain = joined.isascii() and joined.isalnum() and joined == joined.upper()
    if separators != ";" * len(lines) or len(joined) != 9 * len(lines) or not plain:
        return None
    return keys


def _line_digests(context: bytes, lines: list[str], extra: dict[str, str] | None = None, keys=None) -> list[str]:
    base = hashlib.md5(context, usedforsecurity=False)
    digests = []
    for i, line in enumerate(lines):
        digest = base.copy()
        digest.update(line.encode())
        if extra is not None and keys[i] in extra:
            digest.update(extra[keys[i]].encode())
        digests.append(digest.hexdigest())
    return digests


def _unchanged(known: dict[str, str], keys: list[str], digests: list[str]) -> list[int]:
    """Positions of the records whose lines changed since the last import (or are new)."""
    get = known.get
    return [i for i, (key, digest) in enumerate(zip(keys, digests, strict=True)) if get(key) != digest]


def _fast_et(reader: _Reader, known: dict[str, str] | None = None, context: bytes = b"") -> Extract:
    # "structureet;" and "geolocalisation;" differ in length: read both prefixes by their own width.
    et_lines, et_numbers, geo_lines, geo_numbers = [], [], [], []
    for number, line in enumerate(reader.lines[1:], start=2):
        if line[:12] == "structureet;":
            et_lines.append(line)
            et_numbers.append(number)
        elif line[:16] == "geolocalisation;":
            geo_lines.append(line)
            geo_numbers.append(number)
        elif line.strip():
            raise _Defer
    if not et_lines:
        raise _Defer
    keys, ej_keys, geo_keys = _plain_keys(et_lines, 12), _plain_keys(et_lines, 22), _plain_keys(geo_lines, 16)
    whole = {}
    digests = None
    if keys is not None and ej_keys is not None and geo_keys is not None:
        if len(set(keys)) != len(keys) or not set(geo_keys) <= set(keys):
            raise _Defer
        geo_text: dict[str, str] = {}
        for key, line in zip(geo_keys, geo_lines, strict=True):
            geo_text[key] = f"{geo_text.get(key, '')}\n{line}"
        digests = _line_digests(context, et_lines, geo_text, keys)
        if known:
            changed = _unchanged(known, keys, digests)
            whole = {
                "skipped": len(keys) - len(changed),
                "file_numbers": keys,
                "file_ej_numbers": ej_keys,
                "file_line_numbers": et_numbers,
            }
            kept = {keys[i] for i in changed}
            et_lines = [et_lines[i] for i in changed]
            et_numbers = [et_numbers[i] for i in changed]
            digests = [digests[i] for i in changed]
            geo_lines = [line for key, line in zip(geo_keys, geo_lines, strict=True) if key in kept]
            if not et_lines:
                columns = {name: [] for name in (*STRUCTUREET, "coordxet", "coordyet", "sourcecoordet")}
                columns.update(datemajcoord=[], source_digest=[])
                reader.progress(len(reader.lines))
                return Extract(
                    "et", reader.name, reader.snapshot_date, reader.encoding, "nofinesset", columns, [], **whole
                )
    columns = dict(zip(STRUCTUREET, _fast_split(et_lines, len(STRUCTUREET)), strict=True))
    columns["nofinesset"] = _fast_finess(columns["nofinesset"])
    columns["nofinessej"] = _fast_finess(columns["nofinessej"])
    numbers = columns["nofinesset"]
    if len(set(numbers)) != len(numbers):
        raise _Defer
    _fast_identifiers(columns["siret"], _siret_plain, stdnum_siret.is_valid)
    for name in ET_DATES:
        columns[name] = _fast_dates(columns[name])
    geo_x, geo_y, geo_source, geo_date = ([None] * len(numbers) for _ in range(4))
    if geo_lines:
        geo = dict(zip(GEOLOCALISATION, _fast_split(geo_lines, len(GEOLOCALISATION)), strict=True))
        position = {finess: i for i, finess in enumerate(numbers)}
        try:
            targets = list(map(position.__getitem__, _fast_finess(geo["nofinesset"])))
            xs = [float(value) if value else None for value in geo["coordxet"]]
            ys = [float(value) if value else None for value in geo["coordyet"]]
        except (KeyError, ValueError):
            raise _Defer from None
        dates = _fast_dates(geo["datemaj"])
        for i, target in enumerate(targets):  # the last line of an establishment wins, as in the reference reader
            geo_x[target], geo_y[target], geo_source[target], geo_date[target] = (
                xs[i],
                ys[i],
                geo["sourcecoordet"][i],
                dates[i],
            )
    columns.update(coordxet=geo_x, coordyet=geo_y, sourcecoordet=geo_source, datemajcoord=geo_date)
    columns["source_digest"] = digests or [""] * len(numbers)
    reader.progress(len(reader.lines))
    return Extract("et", reader.name, reader.snapshot_date, reader.encoding, "nofinesset", columns, et_numbers, **whole)


def _fast_ej(reader: _Reader, known: dict[str, str] | None = None, context: bytes = b"") -> Extract:
    lines, numbers = [], []
    for number, line in enumerate(reader.lines[1:], start=2):
        if line[:12] == "structureej;":
            lines.append(line)
            numbers.append(number)
        elif line.strip():
            raise _Defer
    if not lines:
        raise _Defer
    keys = _plain_keys(lines, 12)
    whole = {}
    digests = None
    if keys is not None:
        if len(set(keys)) != len(keys):
            raise _Defer
        digests = _line_digests(context, lines)
        if known:
            changed = _unchanged(known, keys, digests)
            whole = {"skipped": len(keys) - len(changed), "file_numbers": keys, "file_line_numbers": numbers}
            lines = [lines[i] for i in changed]
            numbers = [numbers[i] for i in changed]
            digests = [digests[i] for i in changed]
            if not lines:
                columns = {name: [] for name in (*STRUCTUREEJ, "source_digest")}
                reader.progress(len(reader.lines))
                return Extract(
                    "ej", reader.name, reader.snapshot_date, reader.encoding, "nofinessej", columns, [], **whole
                )
    columns = dict(zip(STRUCTUREEJ, _fast_split(lines, len(STRUCTUREEJ)), strict=True))
    columns["nofinessej"] = _fast_finess(columns["nofinessej"])
    if len(set(columns["nofinessej"])) != len(numbers):
        raise _Defer
    _fast_identifiers(columns["siren"], _luhn9, stdnum_siren.is_valid)
    for name in EJ_DATES:
        columns[name] = _fast_dates(columns[name])
    columns["source_digest"] = digests or [""] * len(numbers)
    reader.progress(len(reader.lines))
    return Extract("ej", reader.name, reader.snapshot_date, reader.encoding, "nofinessej", columns, numbers, **whole)


def _with_digests(extract: Extract) -> Extract:
    extract.columns["source_digest"] = [""] * len(extract)  # read line by line: compared again next time
    return extract


def parse_et(
    name: str,
    data: bytes,
    progress: Callable[[int], None] | None = None,
    known: dict[str, str] | None = None,
    context: bytes = b"",
) -> Extract:
    """An establishments extract, all checked; an `ExtractError` names the first problem in file order.

    `known`: FINESS ET → checksum of its lines at the last import (with `context`, what else the rows derive
    from); the records whose lines have not changed are then counted in `skipped`, not returned."""
    reader = _Reader(name, data, progress)
    try:
        return _fast_et(reader, known, context)
    except _Defer:
        return _with_digests(_parse_et_lines(reader))


def parse_ej(
    name: str,
    data: bytes,
    progress: Callable[[int], None] | None = None,
    known: dict[str, str] | None = None,
    context: bytes = b"",
) -> Extract:
    """A legal entities extract, all checked; an `ExtractError` names the first problem in file order (`known`,
    `context`: as for `parse_et`)."""
    reader = _Reader(name, data, progress)
    try:
        return _fast_ej(reader, known, context)
    except _Defer:
        return _with_digests(_parse_ej_lines(reader))
