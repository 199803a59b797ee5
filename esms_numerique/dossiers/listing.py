"""The dossier list's columns, kept on the dossier row so that the list reads, sorts and searches them in SQL without
decoding the grappe's JSON (issue 16; DECISION D-LIST-COLUMNS). Every service that changes the grappe, its result,
the porteur or the state calls `refresh_list_columns` once, inside its transaction."""

from __future__ import annotations

import unicodedata
from typing import Any

from esms_numerique import clock
from esms_numerique.registry.models import Establishment, LegalEntity

from .models import Dossier
from .workflow import WITH_DEADLINE


def searchable(text: str) -> str:
    """Lower case, accents off, one space between words: the stored text and the typed query read alike."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def _numbers(grappe: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The grappe's ESSMS (FINESS ET) and member OGs (FINESS EJ)."""
    essms = [str(e.get("finess_et", "")).strip().upper() for e in grappe.get("essms", []) if isinstance(e, dict)]
    members = [str(n).strip() for n in grappe.get("members", [])]
    return [n for n in essms if n], [n for n in members if n]


def _columns(dossier: Dossier, porteur: tuple[str, str], names: dict[str, str]) -> dict[str, Any]:
    """The ESSMS count and total of the live result, and the text a search reads: reference, title, porteur
    (FINESS EJ and name), ESSMS and member OGs (FINESS and names from the registry)."""
    grappe, result = dossier.grappe or {}, dossier.result or {}
    essms, members = _numbers(grappe)
    words = [dossier.reference, dossier.title, *porteur, *essms, *members]
    words += [names.get(n, "") for n in essms + members]
    from .changes import next_deadline  # changes.py writes through this module

    count, total = result.get("essms_count"), result.get("total_eur")
    due = next_deadline(dossier) if dossier.state in WITH_DEADLINE else None
    return {
        "essms_count": count if isinstance(count, int) else len(essms),
        "total_eur": total if isinstance(total, int) and total >= 0 else None,
        "search_text": searchable(" ".join(w for w in words if w)),
        "deadline_on": due["due"] if due else None,
        "deadline_label": due["label"] if due else "",
    }


def _names(essms: set[str], members: set[str]) -> dict[str, str]:
    names = dict(Establishment.objects.filter(finess_et__in=essms).values_list("finess_et", "name"))
    names.update(LegalEntity.objects.filter(finess_ej__in=members).values_list("finess_ej", "name"))
    return names


def refresh_list_columns(dossier: Dossier, touch: bool = True) -> None:
    """Writes the list's columns of `dossier` as it is now in the database; `touch` also moves « modifié le »."""
    fresh = Dossier.objects.select_related("porteur").only(*FIELDS).get(pk=dossier.pk)
    essms, members = _numbers(fresh.grappe or {})
    columns = _columns(fresh, (fresh.porteur.finess_ej, fresh.porteur.name), _names(set(essms), set(members)))
    if touch:
        columns["updated_at"] = clock.now()
    Dossier.objects.filter(pk=dossier.pk).update(**columns)
    for name, value in columns.items():
        setattr(dossier, name, value)


def refresh_many(dossiers) -> int:
    """The list's columns of many dossiers at once (bulk loads such as the national demo, which bypass the
    services): three queries and one bulk update whatever the number. « Modifié le » is left as it is."""
    rows = list(dossiers.select_related("porteur").only(*FIELDS))
    essms: set[str] = set()
    members: set[str] = set()
    for dossier in rows:
        found = _numbers(dossier.grappe or {})
        essms.update(found[0])
        members.update(found[1])
    names = _names(essms, members)
    for dossier in rows:
        for name, value in _columns(dossier, (dossier.porteur.finess_ej, dossier.porteur.name), names).items():
            setattr(dossier, name, value)
    Dossier.objects.bulk_update(rows, LIST_COLUMNS, batch_size=500)
    return len(rows)


# What next_deadline reads, besides the grappe and result.
FIELDS = (
    "reference",
    "title",
    "grappe",
    "result",
    "porteur__finess_ej",
    "porteur__name",
    "state",
    "campaign",
    "filed_at",
    "filed_result",
    "desk",
    "convention_signed_on",
    "deadline_extended_to",
)
LIST_COLUMNS = ["essms_count", "total_eur", "search_text", "deadline_on", "deadline_label"]
