"""Departments, regions and FINESS department codes, from geography/departments.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from .parameters import ParameterTree, default_tree

TABLES = "geography/departments"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    overseas_or_corsica: bool


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    region: str
    finess_code: str | None = None
    finess_prefix: str | None = None


@dataclass(frozen=True)
class Geography:
    regions: dict[str, Region]
    departments: dict[str, Department]
    finess_codes: dict[str, str]  # FINESS department code (9A…) -> INSEE department code
    finess_only: frozenset[str]  # FINESS codes of territories outside the 18 ARS regions

    def normalize_department(self, code: str) -> str | None:
        """INSEE department code for an INSEE or FINESS code (`35`, `2a`, `971`, `9A`), or None."""
        code = code.strip().upper()
        if code.isdigit() and len(code) == 1:
            code = "0" + code
        if code in self.departments:
            return code
        return self.finess_codes.get(code)

    @cached_property
    def _prefixes(self) -> tuple[dict[str, tuple[int, str]], tuple[int, ...]]:
        """FINESS prefix -> (order of its department in the table, department code), and the prefixes' lengths."""
        found = {
            d.finess_prefix: (n, d.code)
            for n, d in reversed(list(enumerate(self.departments.values())))
            if d.finess_prefix
        }
        return found, tuple(sorted({len(prefix) for prefix in found}))

    def department_of_finess(self, finess: str) -> str | None:
        """The department a FINESS number was issued in, read from its prefix (the first department of the table
        whose prefix it starts with), else from its first two characters."""
        finess = finess.upper()
        prefixes, lengths = self._prefixes
        matches = [prefixes[finess[:n]] for n in lengths if finess[:n] in prefixes]
        if matches:
            return min(matches)[1]
        head = finess[:2]
        return head if head in self.departments else None

    def region_name(self, code: str | None) -> str:
        return self.regions[code].name if code in self.regions else "région inconnue"


@cache
def _geography(tree: ParameterTree) -> Geography:
    import datetime as dt

    today = dt.date.max
    regions = {row["code"]: Region(**row) for row in tree.get(f"{TABLES}.regions").at(today).value}
    departments = {}
    for row in tree.get(f"{TABLES}.departments").at(today).value:
        department = Department(**row)
        if department.region not in regions:
            raise ValueError(f"{TABLES} : région inconnue {department.region} pour {department.code}")
        departments[department.code] = department
    finess_codes = {d.finess_code: d.code for d in departments.values() if d.finess_code}
    finess_only = frozenset(tree.get(f"{TABLES}.finess_only_territories").at(today).value)
    return Geography(regions, departments, finess_codes, finess_only)


def geography(tree: ParameterTree | None = None) -> Geography:
    return _geography(tree or default_tree())
