"""Exports (issue 12): exactly the dossiers the list filters, in its order, with labels instead of codes, real dates,
widths, an autofilter and a frozen header — and the same layout for the SONS orders and the follow-up workbook."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.test import Client
from openpyxl import load_workbook

from esms_numerique.www.exports import DATE_FORMAT, DATETIME_FORMAT, EUR_FORMAT, Column, table_response
from esms_numerique.www.sons_views import ORDER_EXPORT_COLUMNS
from tests.dossiers.conftest import campaign_2024, registry, users  # noqa: F401
from tests.www.test_dossier_list import national  # noqa: F401

pytestmark = pytest.mark.django_db

QUERY = "etat=retenu&q=association&tri=-montant"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed_references(client: Client, query: str) -> list[str]:
    """Every page of the list, in order."""
    first = client.get(f"/dossiers/?{query}")
    references = []
    for number in range(1, first.context["page"].paginator.num_pages + 1):
        references += [d.reference for d in client.get(f"/dossiers/?{query}&page={number}").context["dossiers"]]
    return references


def workbook_of(response):
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def test_the_xlsx_holds_what_the_list_filters(users, national):  # noqa: F811
    ars = client_for(users["ars"])
    expected = listed_references(ars, QUERY)
    assert len(expected) > 50  # more than one page: the export is every page, not the one shown
    page = ars.get(f"/dossiers/?{QUERY}").content.decode()
    assert "/dossiers/export.xlsx?q=association&amp;etat=retenu&amp;tri=-montant" in page

    sheet = workbook_of(ars.get(f"/dossiers/export.xlsx?{QUERY}"))["Dossiers"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [r["Référence"] for r in rows] == expected
    assert {r["État"] for r in rows} == {"Retenu"}
    assert {r["Guichet"] for r in rows} == {"Régional — Bretagne"}
    assert all(r["Porteur"].startswith("Association ") for r in rows)
    totals = [r["Total calculé (€)"] for r in rows]
    assert totals == sorted(totals, reverse=True) and isinstance(totals[0], int)

    # Real dates, formatted the French way; a frozen header, an autofilter over every row, widths.
    column = {name: index for index, name in enumerate(header)}
    due = sheet.cell(row=2, column=column["Prochaine échéance"] + 1)
    assert isinstance(due.value, dt.datetime) and due.number_format == DATE_FORMAT
    assert due.value.date() == dt.date(2024, 12, 31)  # the commitment deadline of a retained dossier (FAQN Q22)
    assert rows[0]["Nature de l'échéance"] == "engagement financier (FAQN Q22)"
    modified = sheet.cell(row=2, column=column["Modifié le"] + 1)
    assert isinstance(modified.value, dt.datetime) and modified.number_format == DATETIME_FORMAT
    filed = sheet.cell(row=2, column=column["Déposé le"] + 1)
    assert filed.is_date and filed.number_format == DATE_FORMAT
    assert sheet.cell(row=2, column=column["Total calculé (€)"] + 1).number_format == EUR_FORMAT
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=len(header)).column_letter}{len(rows) + 1}"
    assert sheet.column_dimensions["B"].width == 40  # « Intitulé »
    assert sheet["A1"].font.bold


def test_the_csv_holds_the_same_rows(users, national):  # noqa: F811
    ars = client_for(users["ars"])
    expected = listed_references(ars, QUERY)
    text = ars.get(f"/dossiers/export.csv?{QUERY}").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Référence"] for r in rows] == expected
    assert rows[0]["Prochaine échéance"] == "31/12/2024"
    assert rows[0]["Guichet"] == "Régional — Bretagne"


def test_the_tab_and_the_search_filter_the_export(users, national):  # noqa: F811
    national_team = client_for(users["national"])
    for query in ("onglet=archives", "q=ESMS-2024-00010", "onglet=a_traiter&tri=reference", "echeance=depassee"):
        expected = listed_references(national_team, query)
        sheet = workbook_of(national_team.get(f"/dossiers/export.xlsx?{query}"))["Dossiers"]
        assert [row[0].value for row in sheet.iter_rows(min_row=2)] == expected, query
    one = workbook_of(national_team.get("/dossiers/export.xlsx?q=ESMS-2024-00010"))["Dossiers"]
    assert one["G2"].value == "National"


def test_an_empty_export_keeps_its_header(users):  # noqa: F811
    sheet = workbook_of(client_for(users["ars"]).get("/dossiers/export.xlsx?q=personne"))["Dossiers"]
    assert sheet.max_row == 1 and sheet["A1"].value == "Référence" and sheet.freeze_panes == "A2"


def test_any_table_gets_dates_euros_widths_and_frozen_header():
    """The SONS orders' and the follow-up's tables, given as labels and rows, get the same layout."""
    order = SimpleNamespace(
        reference="SONS-2024-00001",
        og=SimpleNamespace(finess_ej="350000014", name='=HYPERLINK("http://x")'),
        solution=SimpleNamespace(editor=SimpleNamespace(name="Éditeur")),
        couloir="MS1",
        ordered_on=dt.date(2024, 2, 1),
        get_state_display=lambda: "Avance versée",
        result={"essms_count": 3, "total_eur": 12000, "advance_eur": 3600},
        advance_paid_eur=3600,
        advance_paid_on=dt.date(2024, 3, 5),
        advance_payment_reference="ASP-1",
        balance_paid_eur=None,
        balance_paid_on=None,
        balance_payment_reference="",
        recovery_eur=None,
    )
    header = [name for name, _ in ORDER_EXPORT_COLUMNS]
    rows = [[get(order) for _, get in ORDER_EXPORT_COLUMNS]]
    extra = ([Column("Quand", lambda o: o, 12, "date")], [dt.date(2024, 1, 2)])
    sheets = {"Commandes SONS": (header, rows), "Autre": extra}
    book = load_workbook(io.BytesIO(table_response("xlsx", "commandes", sheets).content))
    sheet = book["Commandes SONS"]
    named = {c.value: c.column_letter for c in sheet[1]}
    signed = sheet[f"{named['Commande signée le']}2"]
    assert signed.is_date and signed.number_format == DATE_FORMAT
    assert sheet[f"{named['Total (€)']}2"].number_format == EUR_FORMAT
    assert sheet[f"{named['OG']}2"].data_type == "s"  # the formula guard (issue 15) still holds
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{named['À recouvrer (€)']}2"
    assert sheet.column_dimensions[named["Commande signée le"]].width >= len("Commande signée le")
    assert book["Autre"]["A2"].number_format == DATE_FORMAT
    text = table_response("csv", "commandes", sheets).content.decode("utf-8-sig")
    assert "01/02/2024" in text and "'=HYPERLINK" in text


def test_the_follow_up_workbook_is_laid_out(users):  # noqa: F811
    book = workbook_of(client_for(users["national"]).get("/suivi/export.xlsx"))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref and sheet["A1"].font.bold, sheet.title
