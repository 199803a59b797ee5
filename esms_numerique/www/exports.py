"""Tables offered for download as CSV (Excel's French dialect: `;`, UTF-8 with BOM) or XLSX (one sheet per table)."""

from __future__ import annotations

import csv
from collections.abc import Sequence

from django.http import Http404, HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Font

FORMATS = ("csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Table = tuple[Sequence[str], Sequence[Sequence[object]]]  # header, rows


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
        writer.writerow(header)
        writer.writerows(rows)
        return response
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title[:31])  # Excel's limit on a sheet's name
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{basename}.xlsx"'
    workbook.save(response)
    return response
