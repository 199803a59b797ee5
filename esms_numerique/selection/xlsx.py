"""The campaign what-if as an XLSX workbook (P-WHATIF): labels rather than codes, real numbers with a euro format,
a bold frozen header, an autofilter and column widths on each sheet, as every export (www/exports.py write_sheet);
a text that looks like a formula stays text (DECISION D-LIMITS)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook

from esms_numerique.rules.parameters import default_tree
from esms_numerique.www.exports import Column, write_sheet

EUROS = "eur"  # the platform's euro format (www/exports.py)


def _sheet(workbook: Workbook, title: str, columns: list[tuple[str, str | None, int]], rows: list[list[Any]]):
    """columns: (header, kind or None, width in characters); the table's layout is every export's (write_sheet)."""
    sheet = workbook.create_sheet(title[:31])
    header = [label for label, _, _ in columns]
    kinds = [Column(label, get=None, width=width, kind=kind or "text") for label, kind, width in columns]
    write_sheet(sheet, header, rows, kinds)
    return sheet


def _yes_no(value: bool) -> str:
    return "oui" if value else "non"


def whatif_workbook(result: dict[str, Any]) -> bytes:
    tree = default_tree()
    workbook = Workbook()
    workbook.remove(workbook.active)
    money = [("En vigueur (€)", EUROS, 16), ("Brouillon (€)", EUROS, 16), ("Écart (€)", EUROS, 14)]
    _sheet(
        workbook,
        "Par région",
        [("Guichet", None, 28), ("Région pivot", None, 8), ("Nom de la région", None, 30), ("Dossiers", None, 10)]
        + money,
        [
            [r["desk_label"], r["region"], r["name"], r["dossiers"], r["before"], r["after"], r["difference"]]
            for r in result["by_region"]
        ],
    )
    _sheet(
        workbook,
        "Par guichet",
        [("Guichet", None, 28), ("Dossiers", None, 10)] + money,
        [[r["desk_label"], r["dossiers"], r["before"], r["after"], r["difference"]] for r in result["by_desk"]],
    )
    _sheet(
        workbook,
        "Par secteur",
        [("Secteur", None, 8), ("Libellé", None, 40)] + money,
        [[r["sector"], r["name"], r["before"], r["after"], r["difference"]] for r in result["by_sector"]],
    )
    _sheet(
        workbook,
        "Dossiers modifiés",
        [("Référence", None, 18), ("Intitulé", None, 40)]
        + money
        + [("Recevable en vigueur", None, 22), ("Recevable avec le brouillon", None, 28)],
        [
            [
                c["reference"],
                c.get("title", ""),
                c["before_eur"],
                c["after_eur"],
                c["after_eur"] - c["before_eur"],
                _yes_no(c["admissible_before"]),
                _yes_no(c["admissible_after"]),
            ]
            for c in result["changed"]
        ],
    )
    parameters = []
    for name, value in sorted(result["changes"].items()):
        parameter = tree.get(name)
        parameters.append([name, parameter.description, parameter.unit, parameter.values[-1].value, value])
    _sheet(
        workbook,
        "Brouillon",
        [
            ("Paramètre", None, 50),
            ("Description", None, 60),
            ("Unité", None, 8),
            ("Valeur en vigueur", None, 16),
            ("Valeur du brouillon", None, 16),
        ],
        parameters,
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
