"""Tables offered for download as CSV (Excel's French dialect: `;`, UTF-8 with BOM) or XLSX (one sheet per table).

A text that a spreadsheet would read as a formula (`=HYPERLINK(…)`, `+`, `-`, `@`, or a tab or carriage return
first) is never one: prefixed with an apostrophe in CSV, written as text in XLSX (DECISION D-LIMITS). Numbers stay
numbers."""

from __future__ import annotations

import csv
from collections.abc import Sequence

from django.http import Http404, HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font

FORMATS = ("csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Table = tuple[Sequence[str], Sequence[Sequence[object]]]  # header, rows

# What makes a spreadsheet read a cell as a formula (OWASP, « CSV injection »).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: object) -> object:
    """A text the spreadsheet would evaluate, shown as text: an apostrophe first, as the spreadsheet itself does."""
    return f"'{value}" if is_formula_like(value) else value


def xlsx_cell(sheet, value: object) -> object:
    """A text cell stays text: openpyxl would otherwise store a string starting with « = » as a formula."""
    if not is_formula_like(value):
        return value
    cell = Cell(sheet, value=value)
    cell.data_type = "s"  # a shared string, never a formula
    cell.quotePrefix = True  # and still text when someone edits it in the spreadsheet
    return cell


def table_response(fmt: str, basename: str, sheets: dict[str, Table]) -> HttpResponse:
    """A CSV holds the first table; an XLSX workbook holds every table, each on its sheet, header in bold."""
    if fmt not in FORMATS:
        raise Http404("Format d'export inconnu")
    if fmt == "csv":
        header, rows = next(iter(sheets.values()))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{basename}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response, delimiter=";")
        writer.writerow([csv_cell(value) for value in header])
        writer.writerows([csv_cell(value) for value in row] for row in rows)
        return response
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title[:31])  # Excel's limit on a sheet's name
        sheet.append([xlsx_cell(sheet, value) for value in header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([xlsx_cell(sheet, value) for value in row])
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}.xlsx"'
    workbook.save(response)
    return response
