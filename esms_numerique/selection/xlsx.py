"""The campaign what-if as an XLSX workbook (P-WHATIF): labels rather than codes, real numbers with a euro format,
a bold frozen header, an autofilter and column widths on each sheet; a text that looks like a formula stays text
(www/exports.py, DECISION D-LIMITS)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from esms_numerique.rules.parameters import default_tree
from esms_numerique.www.exports import xlsx_cell

EUROS = '#,##0" €";-#,##0" €"'
SHARE = "0.00%"


def _sheet(workbook: Workbook, title: str, columns: list[tuple[str, str | None, int]], rows: list[list[Any]]):
    """columns: (header, number format or None, width in characters)."""
    sheet = workbook.create_sheet(title[:31])
    sheet.append([header for header, _, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
    for index, (_, number_format, width) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, sheet.max_row)}"
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
        [("Guichet", None, 28), ("Région pivot", None, 8), ("Nom de la région", None, 30), ("Dossiers", "0", 10)]
        + money,
        [
            [r["desk_label"], r["region"], r["name"], r["dossiers"], r["before"], r["after"], r["difference"]]
            for r in result["by_region"]
        ],
    )
    _sheet(
        workbook,
        "Par guichet",
        [("Guichet", None, 28), ("Dossiers", "0", 10)] + money,
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
