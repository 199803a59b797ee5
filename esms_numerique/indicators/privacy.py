"""An upload of measurements carries counts per ESSMS, nothing about a person (docs/decisions.md, D-SMALL-COUNTS).

The shape `esms indicateurs calculer` writes is known field by field: a field outside it, or a field named like a
person's identifier (NIR, nom, prénom, date de naissance…) anywhere in the file, or a value shaped like a NIR,
refuses the whole upload, naming each field and where it is."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .compute import OPTIONAL_COUNTS, RATE_FIELDS, Targets, _measure

# What `esms indicateurs calculer` writes for one ESSMS (and for the total), read from the function that writes it.
ESSMS_FIELDS = frozenset(_measure((None, 0, 0, 0, 0, 0, 0), Targets(**dict.fromkeys(RATE_FIELDS, 0.0)), ())) | set(
    OPTIONAL_COUNTS.values()
)
MEASURE_FIELDS = frozenset({"measurement_date", "window_start", "window_end", "window_months", "essms", "total"})
TOP_FIELDS = MEASURE_FIELDS | {"monthly", "file_active", "optional_indicators", "definitions"}
FILE_ACTIVE_FIELDS = frozenset({"year", "essms", "total"})
FILE_ACTIVE_COUNTS = frozenset({"present_at_year_end", "definitive_exits", "file_active"})

# Names of person-level fields, compared without accents, case, spaces, hyphens or underscores.
IDENTIFIERS = frozenset(
    {
        "nir",
        "nss",
        "numsecu",
        "numerosecu",
        "numerosecuritesociale",
        "securitesociale",
        "ins",
        "matriculeins",
        "insnir",
        "nom",
        "nomdenaissance",
        "nomnaissance",
        "nomdusage",
        "nomusage",
        "nomfamille",
        "prenom",
        "prenoms",
        "premierprenom",
        "datedenaissance",
        "datenaissance",
        "naissance",
        "ddn",
        "lieudenaissance",
        "name",
        "lastname",
        "firstname",
        "givenname",
        "familyname",
        "surname",
        "birthdate",
        "dateofbirth",
        "dob",
        "sexe",
        "genre",
        "adresse",
        "address",
        "telephone",
        "tel",
        "phone",
        "email",
        "courriel",
        "mail",
        "ipp",
        "patient",
        "patients",
        "usager",
        "usagers",
        "personne",
        "personnes",
        "person",
        "persons",
        "people",
        "individus",
        "beneficiaire",
        "beneficiaires",
    }
)
# A NIR: sex digit, year, month, department (2A/2B for Corsica), commune, order number, and its key if given.
NIR = re.compile(r"^[12378]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}(?:\s?\d{2})?$", re.I)


def _plain(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


class _Walk:
    def __init__(self) -> None:
        self.personal: list[str] = []
        self.unknown: list[str] = []

    def value(self, value: Any, where: str) -> None:
        """Every key and string at any depth: identifier names and NIR-shaped values."""
        if isinstance(value, dict):
            for key, inner in value.items():
                if NIR.match(str(key).strip()):  # named without repeating it
                    key = "[NIR]"
                    self.personal.append(f"une clé en forme de NIR ({where or 'racine'})")
                here = f"{where} › {key}" if where else str(key)
                if _plain(str(key)) in IDENTIFIERS:
                    self.personal.append(f"« {key} » ({here})")
                self.value(inner, here)
        elif isinstance(value, list):
            for n, inner in enumerate(value, start=1):
                self.value(inner, f"{where} › {n}")
        elif isinstance(value, str | int) and not isinstance(value, bool) and NIR.match(str(value).strip()):
            self.personal.append(f"une valeur en forme de NIR ({where})")

    def fields(self, obj: Any, allowed: frozenset[str], where: str) -> None:
        """Keys outside the known shape (identifier names are reported once, as personal)."""
        if not isinstance(obj, dict):
            return
        for key in obj:
            if key not in allowed and _plain(str(key)) not in IDENTIFIERS and not NIR.match(str(key).strip()):
                self.unknown.append(f"« {key} » ({where + ' › ' if where else ''}{key})")

    def measure(self, measure: Any, allowed: frozenset[str], where: str) -> None:
        self.fields(measure, allowed, where)
        if not isinstance(measure, dict):
            return
        prefix = f"{where} › " if where else ""
        essms = measure.get("essms")
        if isinstance(essms, dict):
            for finess, counts in essms.items():
                self.fields(counts, ESSMS_FIELDS, f"{prefix}essms › {finess}")
        self.fields(measure.get("total"), ESSMS_FIELDS, f"{prefix}total")


def person_level_fields(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(fields naming or holding a person's identifier, fields outside the known shape), each with its place."""
    walk = _Walk()
    walk.value(data, "")
    walk.measure(data, TOP_FIELDS, "")
    monthly = data.get("monthly")
    if isinstance(monthly, list):
        for n, measure in enumerate(monthly, start=1):
            walk.measure(measure, MEASURE_FIELDS, f"monthly › {n}")
    file_active = data.get("file_active")
    walk.fields(file_active, FILE_ACTIVE_FIELDS, "file_active")
    if isinstance(file_active, dict):
        essms = file_active.get("essms")
        if isinstance(essms, dict):
            for finess, counts in essms.items():
                walk.fields(counts, FILE_ACTIVE_COUNTS, f"file_active › essms › {finess}")
        walk.fields(file_active.get("total"), FILE_ACTIVE_COUNTS, "file_active › total")
    return walk.personal, walk.unknown


def refusal(data: dict[str, Any]) -> str | None:
    """The French message that refuses an upload carrying person-level or unknown fields, or None."""
    personal, unknown = person_level_fields(data)
    if not personal and not unknown:
        return None
    parts = []
    if personal:
        parts.append(f"données individuelles : {', '.join(personal[:20])}{' …' if len(personal) > 20 else ''}")
    if unknown:
        parts.append(f"champs inconnus : {', '.join(unknown[:20])}{' …' if len(unknown) > 20 else ''}")
    return (
        "Dépôt refusé, rien n'est enregistré — " + " ; ".join(parts) + ". La plateforme ne reçoit que les comptes "
        "agrégés par ESSMS que produit « esms indicateurs calculer », jamais de donnée sur une personne : retirez "
        "ces champs et déposez à nouveau."
    )
