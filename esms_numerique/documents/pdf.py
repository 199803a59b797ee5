"""French official documents as PDF (reportlab): the State's header, titles, paragraphs and tables.
Output is reproducible: the same data gives the same bytes (no creation date, fixed identifiers)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

HEADER = [
    "MINISTÈRE DES SOLIDARITÉS ET DE LA SANTÉ",
    "Liberté — Égalité — Fraternité",
    "FRANCE RELANCE",
    "AGENCE DU NUMÉRIQUE EN SANTÉ",
]
STYLES = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=STYLES["BodyText"], fontName="Helvetica", fontSize=9.5, leading=12)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8, leading=10)
TITLE = ParagraphStyle("title", parent=STYLES["Title"], fontName="Helvetica-Bold", fontSize=15)
HEAD = ParagraphStyle("head", parent=BODY, fontName="Helvetica-Bold", fontSize=8, leading=10)
HEADING = ParagraphStyle("heading", parent=BODY, fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=6)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8, leading=10)


def text(value: object) -> str:
    """Reportlab's standard fonts know no narrow no-break space; escape what Paragraph reads as markup."""
    shown = "" if value is None else str(value)
    shown = shown.replace("\u202f", " ").replace("\u00a0", " ")
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PdfDocument:
    def __init__(self, title: str, subject: str, header: Sequence[str] = HEADER):
        self.title, self.subject = title, subject
        self.flow: list = [
            Paragraph("<br/>".join(f"<b>{text(h)}</b>" for h in header), SMALL),
            Spacer(1, 0.4 * cm),
            Paragraph(text(title), TITLE),
        ]

    def paragraph(self, value: str, small: bool = False, raw: bool = False) -> PdfDocument:
        self.flow.append(Paragraph(value if raw else text(value), SMALL if small else BODY))
        return self

    def heading(self, value: str) -> PdfDocument:
        self.flow.append(Paragraph(text(value), HEADING))
        return self

    def fields(self, rows: Sequence[tuple[str, object]]) -> PdfDocument:
        return self.table(["", ""], [[label, value] for label, value in rows], header=False, widths=[6 * cm, 11 * cm])

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        header: bool = True,
        widths: Sequence[float] | None = None,
    ) -> PdfDocument:
        data = []
        if header:
            data.append([Paragraph(text(h), HEAD) for h in headers])
        data += [[Paragraph(text(cell), CELL) for cell in row] for row in rows]
        table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
        style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")))
        table.setStyle(TableStyle(style))
        self.flow += [Spacer(1, 0.2 * cm), table, Spacer(1, 0.3 * cm)]
        return self

    def signatures(self, signatories: Sequence[str], dated: bool = True) -> PdfDocument:
        """Side by side, one block per signatory: place and date to fill in (`dated`), the signatory's role, room to
        sign. A single signatory signs on the right, as at the foot of a letter."""
        place = "Fait à ....................., le ....................<br/><br/>" if dated else ""
        blocks = [Paragraph(f"{place}<b>{text(s)}</b>", BODY) for s in signatories]
        cells = ["", *blocks] if len(blocks) == 1 else blocks
        table = Table(
            [cells, [""] * len(cells)], colWidths=[17 * cm / len(cells)] * len(cells), rowHeights=[None, 2.5 * cm]
        )
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        self.flow += [Spacer(1, 0.5 * cm), KeepTogether(table)]
        return self

    def space(self) -> PdfDocument:
        self.flow.append(Spacer(1, 0.5 * cm))
        return self

    def render(self) -> bytes:
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            title=self.title,
            subject=self.subject,
            author="Plateforme ESMS numérique",
            creator="Plateforme ESMS numérique",
            leftMargin=2 * cm,
            rightMargin=2 * cm,
            topMargin=1.5 * cm,
            bottomMargin=1.5 * cm,
            invariant=1,
        )
        document.build(self.flow)
        return buffer.getvalue()
