"""Tables offered for download as CSV (Excel's French dialect: `;`, UTF-8 with BOM) or XLSX (one sheet per table).

A text that a spreadsheet would read as a formula (`=HYPERLINK(…)`, `+`, `-`, `@`, or a tab or carriage return
first) is never one: prefixed with an apostrophe in CSV, written as text in XLSX (DECISION D-LIMITS). Numbers stay
numbers.

Every sheet is read as a table (issue 12): header in bold and frozen, an autofilter over the rows, columns as wide as
their texts (bounded), dates as real dates (`JJ/MM/AAAA`), euros as whole numbers with a thousands separator. A table
may give its columns as `Column`s (label, how to read an object, width, kind) and its rows as the objects."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMATS = ("csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column of an exported table: its French label, how to read it from a row's object, its width in
    characters and its kind (`text`, `eur`, `date`, `datetime`)."""

    label: str
    get: Callable[[Any], object]
    width: int | None = None
    kind: str = "text"


# header (labels or Columns), rows (lists of values, or the objects the Columns read)
Table = tuple[Sequence[str | Column], Sequence[Any]]
DATE_FORMAT, DATETIME_FORMAT, EUR_FORMAT = "DD/MM/YYYY", "DD/MM/YYYY HH:MM", "#,##0"
MIN_WIDTH, MAX_WIDTH = 8, 60


def _rows(table: Table) -> tuple[list[str], list[list[object]], list[Column | None]]:
    header, rows = table
    columns = [c if isinstance(c, Column) else None for c in header]
    if all(columns) and columns:
        return [c.label for c in columns], [[c.get(obj) for c in columns] for obj in rows], columns
    return [str(c.label if isinstance(c, Column) else c) for c in header], [list(r) for r in rows], columns


# What makes a spreadsheet read a cell as a formula (OWASP, « CSV injection »).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: object) -> object:
    """A text the spreadsheet would evaluate, shown as text: an apostrophe first, as the spreadsheet itself does.
    Dates the French way."""
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return f"'{value}" if is_formula_like(value) else value


def xlsx_cell(sheet, value: object) -> object:
    """A text cell stays text: openpyxl would otherwise store a string starting with « = » as a formula. Control
    characters XML cannot hold (a title typed with a vertical tab) become spaces: the workbook is still written."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
    if not is_formula_like(value):
        return value
    cell = Cell(sheet, value=value)
    cell.data_type = "s"  # a shared string, never a formula
    cell.quotePrefix = True  # and still text when someone edits it in the spreadsheet
    return cell


def table_response(fmt: str, basename: str, sheets: dict[str, Table]) -> HttpResponse:
    """A CSV holds the first table; an XLSX workbook holds every table, each on its sheet."""
    if fmt not in FORMATS:
        raise Http404("Format d'export inconnu")
    if fmt == "csv":
        header, rows, _ = _rows(next(iter(sheets.values())))
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{basename}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response, delimiter=";")
        writer.writerow([csv_cell(value) for value in header])
        writer.writerows([csv_cell(value) for value in row] for row in rows)
        return response
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, table in sheets.items():
        write_sheet(workbook.create_sheet(title[:31]), *_rows(table))  # Excel's limit on a sheet's name
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}.xlsx"'
    workbook.save(response)
    return response


def _format(value: object, column: Column | None, label: str) -> str | None:
    kind = column.kind if column else ("eur" if "(€)" in label and isinstance(value, int) else "")
    if kind == "datetime" or (not kind and isinstance(value, dt.datetime)):
        return DATETIME_FORMAT
    if kind == "date" or (not kind and isinstance(value, dt.date)):
        return DATE_FORMAT
    if kind == "eur":
        return EUR_FORMAT
    return None


def write_sheet(sheet, header: list[str], rows: list[list[object]], columns: list[Column | None]) -> None:
    """The table on `sheet`: bold frozen header, autofilter, widths, dates and euros formatted."""
    sheet.append([xlsx_cell(sheet, value) for value in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(str(label)) for label in header]
    for row in rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
        for index, value in enumerate(row[: len(widths)]):
            if isinstance(value, str):
                widths[index] = max(widths[index], len(value))
    for index, label in enumerate(header):
        column = columns[index] if index < len(columns) else None
        letter = get_column_letter(index + 1)
        width = column.width if column and column.width else widths[index] + 2
        sheet.column_dimensions[letter].width = max(MIN_WIDTH, min(MAX_WIDTH, max(width, len(str(label)) + 2)))
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            number_format = _format(cell.value, column, str(label)) if not isinstance(cell.value, str | None) else None
            if number_format:
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    if header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(1, len(rows) + 1)}"
