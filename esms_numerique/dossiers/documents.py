"""AAP24 documents of a dossier: the SAAD hours declaration (Annexe 1, columns a–j) and the list of pieces
(Annexe 2), generated from the grappe."""

from __future__ import annotations

from esms_numerique.documents.pdf import PdfDocument
from esms_numerique.registry.models import Establishment
from esms_numerique.rules.money import format_share

from .models import Dossier
from .pieces import piece_types

SAAD_COLUMNS = [
    "a Nom de la structure",
    "b FINESS EJ",
    "c FINESS ET",
    "d Heures réalisées",
    "e Heures APA",
    "f Heures PCH",
    "g Heures hors APA/PCH",
    "h Financement col. g",
    "i % activités MS",
    "j % activités de confort",
]


def saad_declaration(dossier: Dossier) -> bytes:
    """Annexe 1 : déclaration des heures dédiées à l'activité médico-sociale (année N-1)."""
    rows = []
    saad = [e for e in dossier.grappe.get("essms", []) if e.get("saad_hours")]
    names = dict(
        Establishment.objects.filter(finess_et__in=[e["finess_et"] for e in saad]).values_list("finess_et", "name")
    )
    for entry in saad:
        hours = entry["saad_hours"]
        total, medico = hours.get("total") or 0, hours.get("medico_social") or 0
        share = medico / total if total else 0
        rows.append(
            [
                names.get(entry["finess_et"], entry.get("name", "")),
                entry.get("finess_ej", ""),
                entry["finess_et"],
                f"{total:g}",
                f"{hours.get('apa', ''):g}" if "apa" in hours else "",
                f"{hours.get('pch', ''):g}" if "pch" in hours else "",
                f"{hours.get('other', medico):g}",
                hours.get("other_funder", ""),
                format_share(share),
                format_share(1 - share),
            ]
        )
    doc = PdfDocument("Déclaration des heures dédiées à l'activité médico-sociale", f"Annexe 1 — {dossier.reference}")
    doc.paragraph(
        f"Appel à projets ESMS numérique {dossier.campaign} — Annexe 1 : modalités de financement des SAAD. "
        f"Dossier {dossier.reference} « {dossier.title} », porteur {dossier.porteur.finess_ej}."
    )
    doc.table(SAAD_COLUMNS, rows or [["Aucun SAAD déclaré dans la grappe", "", "", "", "", "", "", "", "", ""]])
    doc.paragraph(
        "Les ARS peuvent vérifier les informations déclarées auprès des conseils départementaux et "
        "autres caisses. Les forfaits sont attribués au prorata de l'activité médico-sociale (règle F-SAAD).",
        small=True,
    )
    return doc.render()


def pieces_list(dossier: Dossier) -> bytes:
    """Annexe 2 : pièces à joindre, celles que E-PIECES demande à ce dossier, et celles qui sont jointes."""
    joined = {p.code: p for p in dossier.pieces.all()}
    required = (dossier.filed_result or dossier.result).get("required_pieces", [])
    labels = dict(piece_types(dossier.campaign))
    rows = [
        [
            labels.get(code, code),
            "oui" if code in joined else "non",
            joined[code].original_name if code in joined else "",
        ]
        for code in required
    ]
    doc = PdfDocument("Liste des pièces du dossier", f"Annexe 2 — {dossier.reference}")
    doc.paragraph(
        f"Dossier {dossier.reference} « {dossier.title} » — pièces demandées (annexe 2 de l'appel à "
        "projets, règle E-PIECES)."
    )
    doc.table(["Pièce", "Jointe", "Fichier"], rows or [["Liste non publiée pour cette campagne", "", ""]])
    return doc.render()
