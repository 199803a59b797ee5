"""Dated, referenced parameters read from the YAML tree beside this module (OpenFisca style).

Every value carries the date it applies from and its reference (a text of `sources.yaml` and a section).
The loader is strict: an unknown or duplicate key, a missing reference, a value that does not fit its
unit is a `ParameterError` at start-up, never a silent default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PARAMETERS_DIR = Path(__file__).parent / "parameters"

FILE_KEYS = {"description", "last_value_still_valid_on", "parameters"}
NODE_KEYS = {"description", "unit", "values", "regions", "note"}
VALUE_KEYS = {"value", "reference"}
REFERENCE_KEYS = {"text", "section"}
UNITS = {"EUR", "count", "share", "months", "days", "date", "bool", "text", "codes", "table"}


class ParameterError(Exception):
    """A parameter file that does not follow the rules of the tree."""


@dataclass(frozen=True)
class Reference:
    text: str
    section: str
    file: str | None
    title: str

    def __str__(self) -> str:
        where = f" ({self.file})" if self.file else ""
        return f"{self.text} {self.section}{where}"


@dataclass(frozen=True)
class DatedValue:
    start: dt.date
    value: Any
    reference: Reference


@dataclass(frozen=True)
class Parameter:
    """One concept: its dated values, and region-specific values where a text sets them."""

    name: str
    description: str
    unit: str
    values: tuple[DatedValue, ...]
    regions: dict[str, tuple[DatedValue, ...]] = field(default_factory=dict)
    note: str = ""

    def in_force(self, date: dt.date, region: str | None = None) -> DatedValue:
        """The value on `date`; before the first dated value, the first one (a text read ahead of its date)."""
        return self.at(date, region) or (self.regions.get(region) or self.values)[0]

    def at(self, date: dt.date, region: str | None = None) -> DatedValue | None:
        """The value in force on `date` (the region's own if it has one), or None before the first one."""
        values = self.regions.get(region) if region else None
        chosen = None
        for candidate in values or self.values:
            if candidate.start <= date:
                chosen = candidate
        return chosen


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that refuses duplicate keys, which plain YAML silently overwrites; libyaml's when PyYAML has it
    (the same tree, several times faster: issue « national scale », P1)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise ParameterError(f"clé « {key} » en double (ligne {key_node.start_mark.line + 1})")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, label: str) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader=_StrictLoader)
    except ParameterError as error:
        raise ParameterError(f"{label} : {error}") from None
    except yaml.YAMLError as error:
        raise ParameterError(f"{label} : YAML illisible ({error})") from None


def _check_keys(where: str, data: Any, allowed: set[str], required: set[str]) -> None:
    if not isinstance(data, dict):
        raise ParameterError(f"{where} : un dictionnaire est attendu")
    unknown = set(data) - allowed
    if unknown:
        raise ParameterError(f"{where} : clé(s) inconnue(s) {sorted(map(str, unknown))}")
    missing = required - set(data)
    if missing:
        raise ParameterError(f"{where} : clé(s) manquante(s) {sorted(missing)}")


def _check_unit(where: str, unit: str, value: Any) -> None:
    ok = {
        "EUR": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "count": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "months": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "days": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "share": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
        "date": lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime),
        "bool": lambda v: isinstance(v, bool),
        "text": lambda v: isinstance(v, str) and v.strip() != "",
        "codes": lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        "table": lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v),
    }[unit]
    if value is not None and not ok(value):
        raise ParameterError(f"{where} : la valeur {value!r} ne correspond pas à l'unité « {unit} »")


def _dated_values(where: str, raw: Any, unit: str, sources: dict, nullable: bool) -> tuple[DatedValue, ...]:
    if not isinstance(raw, dict) or not raw:
        raise ParameterError(f"{where} : « values » doit associer au moins une date à une valeur")
    values = []
    for start, entry in raw.items():
        here = f"{where} [{start}]"
        if not isinstance(start, dt.date):
            raise ParameterError(f"{here} : la clé doit être une date AAAA-MM-JJ")
        _check_keys(here, entry, VALUE_KEYS, VALUE_KEYS)
        if entry["value"] is None and not nullable:
            raise ParameterError(f"{here} : valeur vide sans « note » qui explique pourquoi")
        _check_unit(here, unit, entry["value"])
        ref = entry["reference"]
        _check_keys(f"{here} reference", ref, REFERENCE_KEYS, REFERENCE_KEYS)
        if ref["text"] not in sources:
            raise ParameterError(f"{here} : texte de référence inconnu « {ref['text']} »")
        if not str(ref["section"]).strip():
            raise ParameterError(f"{here} : section de référence vide")
        source = sources[ref["text"]]
        reference = Reference(ref["text"], str(ref["section"]), source.get("file"), source["title"])
        values.append(DatedValue(start, entry["value"], reference))
    return tuple(sorted(values, key=lambda v: v.start))


def _parse_node(where: str, name: str, node: Any, sources: dict) -> Parameter:
    _check_keys(where, node, NODE_KEYS, {"description", "unit", "values"})
    unit = node["unit"]
    if unit not in UNITS:
        raise ParameterError(f"{where} : unité inconnue « {unit} » (connues : {', '.join(sorted(UNITS))})")
    nullable = bool(node.get("note"))
    regions = {}
    for region, regional in (node.get("regions") or {}).items():
        _check_keys(f"{where} regions.{region}", regional, {"values"}, {"values"})
        regions[str(region)] = _dated_values(f"{where} regions.{region}", regional["values"], unit, sources, nullable)
    return Parameter(
        name=name,
        description=node["description"],
        unit=unit,
        values=_dated_values(where, node["values"], unit, sources, nullable),
        regions=regions,
        note=node.get("note") or "",
    )


@dataclass(frozen=True)
class ParameterFile:
    path: str
    description: str
    last_value_still_valid_on: dt.date
    parameters: dict[str, Parameter]


@dataclass(frozen=True, eq=False)
class ParameterTree:
    files: dict[str, ParameterFile]

    def get(self, name: str) -> Parameter:
        """`name` is the file path without `.yaml` and the parameter, e.g. `sons/bareme.tranches`."""
        file_key, _, param = name.rpartition(".")
        try:
            return self.files[file_key].parameters[param]
        except KeyError:
            raise KeyError(f"paramètre inconnu : {name}") from None

    def has(self, name: str) -> bool:
        file_key, _, param = name.rpartition(".")
        return file_key in self.files and param in self.files[file_key].parameters

    def directories(self, under: str) -> list[str]:
        prefix = under.rstrip("/") + "/"
        return sorted({key[len(prefix) :].split("/")[0] for key in self.files if key.startswith(prefix)})


def load_sources(root: Path = PARAMETERS_DIR) -> dict:
    sources = read_yaml(root / "sources.yaml", "sources.yaml")
    for key, source in sources.items():
        _check_keys(f"sources.yaml {key}", source, {"file", "title", "url"}, {"title"})
    return sources


def load_tree(root: Path = PARAMETERS_DIR) -> ParameterTree:
    sources = load_sources(root)
    files = {}
    for path in sorted(root.rglob("*.yaml")):
        if path.name == "sources.yaml":
            continue
        key = path.relative_to(root).with_suffix("").as_posix()
        data = read_yaml(path, path.relative_to(root).as_posix())
        _check_keys(key, data, FILE_KEYS, FILE_KEYS)
        if not isinstance(data["last_value_still_valid_on"], dt.date):
            raise ParameterError(f"{key} : last_value_still_valid_on doit être une date")
        if not isinstance(data["parameters"], dict) or not data["parameters"]:
            raise ParameterError(f"{key} : « parameters » est vide")
        parameters = {
            name: _parse_node(f"{key}.{name}", name, node, sources) for name, node in data["parameters"].items()
        }
        files[key] = ParameterFile(key, data["description"], data["last_value_still_valid_on"], parameters)
    return ParameterTree(files)


@cache
def default_tree() -> ParameterTree:
    return load_tree()
