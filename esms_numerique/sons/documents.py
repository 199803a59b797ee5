"""The SONS23 documents of an order: bon de commande (one OG), VA attestation, cancellation attestation — with
their mandatory mentions, generated from the data."""

from __future__ import annotations

from esms_numerique.documents.pdf import PdfDocument
from esms_numerique.rules.money import format_eur

from .models import Order
from .services import couloir_calendar

INFORMATION = (
    "Information : La signature de ce bon de commande implique que les ESSMS concernés par la présente commande "
    "n'ont ou ne souhaitent pas bénéficier des financements pour acquisition ou renouvellement d'un DUI dans le "
    "cadre de la généralisation du programme ESMS Numérique. En revanche, parallèlement à ce bon de commande, les "
    "ESMS peuvent candidater pour un financement à l'usage du programme ESMS Numérique via l'Appel à Projet "
    "(régional ou national)"
)
VA_COLUMNS = [
    "L'ESSMS n'a ou ne souhaite pas bénéficier des financements à l'acquisition ou au renouvellement ESMS "
    "Numérique dans le cadre de la phase de généralisation",
    "Bon déroulement de la prestation Ségur selon les scénarios d'installation commandés",
    "Le tableau de bord correspondant à l'exigence TBB.1 a été fourni automatiquement par le DUI avec des "
    "indicateurs différents de zéro",
    "Les trois indicateurs du programme ESMS numérique (taux de dossiers actifs, taux de dossiers actifs avec un "
    "projet personnalisé et taux de dossiers actifs ayant au moins un événement dans l'agenda) sont fournis "
    "automatiquement",
]


def af_reference(order: Order) -> str:
    row = couloir_calendar(order)
    return row["af"] if row else f"AF-{order.couloir}"


def _answer(value: bool | None) -> str:
    return {True: "oui", False: "non", None: "à renseigner"}[value]


def order_form(order: Order) -> bytes:
    """Bon de commande (SONS23, modèle de bon de commande) : cas A, OG unique ; cas B, plusieurs OG."""
    items = list(order.items.select_related("establishment", "establishment__legal_entity"))
    editor, og = order.solution.editor, order.og
    several = order.other_ogs.exists()
    doc = PdfDocument("Bon de commande", f"Prestation Ségur {order.reference}")
    doc.paragraph("DUI Cas B : plusieurs OG" if several else "DUI Cas A : OG unique").fields(
        [
            ("Référence de l'appel à financement", af_reference(order)),
            ("Numéro du bon de commande", order.reference),
            ("Date de signature", f"{order.ordered_on:%d/%m/%Y}"),
        ]
    ).paragraph(INFORMATION, small=True)
    doc.fields(
        [
            ("Fournisseur", editor.name),
            ("N° de SIRET", editor.siret),
            ("Client OG", og.name or og.finess_ej),
            ("N° de FINESS juridique", og.finess_ej),
            ("Adresse de l'OG", f"{og.street_number} {og.street_type} {og.street} {og.postal_line}".strip()),
        ]
    )
    if several:
        doc.paragraph("OG clients de la commande (barème appliqué à chacun selon son nombre d'ESSMS)")
        doc.table(
            [
                "N° de FINESS juridique",
                "Nom de l'OG",
                "ESSMS de l'OG",
                "Tranche",
                "Par ESSMS",
                "ESSMS commandés",
                "Montant",
            ],
            [
                [
                    c["finess_ej"],
                    c["name"],
                    c["og_essms_count"],
                    c["tranche"],
                    format_eur(c["rate_eur"]),
                    c["essms_count"],
                    format_eur(c["total_eur"]),
                ]
                for c in order.result.get("clients", [])
            ],
        )
    doc.paragraph("Clients ESMS bénéficiaires")
    doc.table(
        [
            "N° de FINESS géographique",
            "Raison sociale des bénéficiaires de la prestation Ségur",
            "Catégorie FINESS",
            "OG (FINESS juridique)",
        ],
        [
            [
                i.establishment.finess_et,
                i.establishment.name,
                f"{i.establishment.category} {i.establishment.category_label}",
                i.establishment.legal_entity.finess_ej,
            ]
            for i in items
        ],
    )
    doc.paragraph("Informations sur la prestation Ségur commandée")
    doc.table(
        [
            "N° de FINESS géographique",
            "Dénomination et version actuelle du logiciel",
            "Dénomination et version du logiciel installé dans le cadre de la prestation Ségur",
        ],
        [
            [
                i.establishment.finess_et,
                f"{order.solution.name} {i.current_version}",
                f"{order.solution.name} {i.target_version}",
            ]
            for i in items
        ],
    )
    result = order.result
    if not several:
        doc.paragraph(
            f"Barème SONS (S-BAREME) : OG de {order.og_essms_count} ESSMS, tranche {result.get('tranche')}, "
            f"{format_eur(result.get('rate_eur'))} TTC par ESSMS ; {len(items)} ESSMS : "
            f"{format_eur(result.get('total_eur'))} TTC, payés au fournisseur par l'ASP.",
            small=True,
        )
    else:
        doc.paragraph(
            f"Total de la commande : {format_eur(result.get('total_eur'))} TTC, payés au fournisseur par l'ASP.",
            small=True,
        )
    doc.space().paragraph("Signature du client OG :").space().paragraph("Signature du fournisseur :")
    return doc.render()


def va_attestation(order: Order) -> bytes:
    """Attestation de vérification d'aptitude, with the four yes/no columns per ESSMS (SONS23)."""
    items = list(order.items.select_related("establishment"))
    doc = PdfDocument("Attestation de vérification d'aptitude (VA)", f"VA {order.reference}")
    doc.paragraph("Je soussigné, représentant de l'OG :").fields(
        [
            ("Organisme gestionnaire", order.og.name or order.og.finess_ej),
            ("Numéro FINESS juridique de l'OG", order.og.finess_ej),
            ("Référence de l'appel à financement", af_reference(order)),
            ("Bon de commande", order.reference),
        ]
    )
    doc.paragraph("Liste des numéros FINESS géographique(s) des ESSMS bénéficiaires de la prestation Ségur :")
    doc.table(
        ["N° FINESS géographique", "Raison sociale"], [[i.establishment.finess_et, i.establishment.name] for i in items]
    )
    doc.paragraph(
        "Atteste du bon déroulement de la Prestation Ségur dans les conditions définies par l'AF associé et en lien "
        "avec les éléments à déclarer dans la VA. Le Fournisseur s'est acquitté de l'ensemble des tâches attendues, "
        "à l'exception de celles éventuellement assurées directement par nos soins."
    )
    doc.paragraph("En renseignant le tableau ci-dessous (oui ou non dans chaque case) :")
    doc.table(
        ["N° FINESS géographique", *VA_COLUMNS],
        [[i.establishment.finess_et, *(_answer(getattr(i, f)) for f in i.VA_FIELDS)] for i in items],
    )
    doc.space().paragraph("A ..... le .....").paragraph("Signature")
    return doc.render()


def cancellation_attestation(order: Order, reason: str) -> bytes:
    """Modèle 11 : attestation d'annulation d'une commande par l'ESMS (SONS23)."""
    doc = PdfDocument("Attestation d'annulation d'une commande", f"Annulation {order.reference}")
    doc.fields(
        [
            ("Dénomination sociale", order.og.name or order.og.finess_ej),
            ("N° FINESS juridique", order.og.finess_ej),
            ("N° Bon de commande", order.reference),
            ("À l'attention de", order.solution.editor.name),
        ]
    )
    doc.paragraph("Objet : Annulation de commande").paragraph("Monsieur, Madame,")
    doc.paragraph(
        f"Par la présente, je vous informe que j'annule la commande n° {order.reference} signée le "
        f"{order.ordered_on:%d/%m/%Y} et relative à une Prestation SEGUR en référence à l'appel à financement "
        f"{af_reference(order)}."
    )
    doc.paragraph(
        "Conformément aux dispositions réglementaires prévues dans le cadre du Ségur du numérique en santé, les "
        "Établissements et Professionnels de santé ne peuvent bénéficier que d'un seul financement par SONS."
    )
    doc.paragraph(
        "En conséquence, je vous remercie de bien vouloir engager les démarches nécessaires permettant d'annuler "
        "cette commande auprès des pouvoirs publics dans les plus brefs délais."
    )
    if reason:
        doc.paragraph(f"Motif : {reason}")
    doc.space().paragraph("Date").paragraph("Signature")
    return doc.render()
