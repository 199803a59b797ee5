"""The documents of a decision on an ESMS numérique dossier, as PDF: the notification letter of the decision
(retained, not retained, not admissible, classé sans suite, désistement) and the convention to sign, built from the
frozen result of filing, the ledger of funded ESSMS and the campaign's parameters. Who signs, the appeal paragraph
and what differs in 2022: DECISION D-DECISION-DOCUMENTS (docs/decisions.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from reportlab.lib.units import cm

from esms_numerique.documents.pdf import PdfDocument, text
from esms_numerique.indicators.compute import RATES
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.rules.context import CampaignContext
from esms_numerique.rules.geography import geography
from esms_numerique.rules.money import format_eur, format_share
from esms_numerique.rules.parameters import default_tree
from esms_numerique.workflow.models import TransitionLog

from .enums import State
from .models import Dossier
from .services import deadline
from .transitions import advance_due

SOURCE = "DECISION D-DECISION-DOCUMENTS (docs/decisions.md)"
APPEAL_DELAY = "decision_documents.appeal_delay_months"
OPERATIONS = {"acquisition": "Acquisition", "upgrade": "Montée de version"}
NUMBERS_IN_WORDS = {1: "un", 2: "deux", 3: "trois", 4: "quatre", 6: "six", 9: "neuf", 12: "douze", 18: "dix-huit"}
REPUBLIC = ["RÉPUBLIQUE FRANÇAISE", "Liberté — Égalité — Fraternité"]
PROGRAMME = "Programme ESMS numérique — Ségur du numérique en santé"


class NoDocument(Exception):
    """The dossier has no decision to notify, or nothing engaged to put in a convention."""


@dataclass(frozen=True)
class Decision:
    subject: str  # the letter's « Objet »
    outcome: str  # completes « Votre demande … (dossier …), déposée le … pour N ESSMS, »
    reason_label: str
    by_authority: bool = True  # a désistement is the porteur's act: the letter takes note of it, nothing to appeal
    retained: bool = False


# Keyed by the state a decision leads to; « classé sans suite » and « désistement » count only if the lifecycle has
# them (dossiers/enums.py).
DECISIONS = {
    state: decision
    for state, decision in {
        "retenu": Decision(
            "notification d'une subvention ESMS numérique", "a été retenue", "Motif de la décision", retained=True
        ),
        "non_retenu": Decision(
            "décision sur votre demande de subvention ESMS numérique", "n'a pas été retenue", "Motif de la décision"
        ),
        "non_recevable": Decision(
            "décision sur votre demande de subvention ESMS numérique", "n'est pas recevable", "Motif de la décision"
        ),
        "classe_sans_suite": Decision(
            "classement sans suite de votre demande de subvention ESMS numérique",
            "est classée sans suite",
            "Motif du classement",
        ),
        "desiste": Decision(
            "désistement de votre demande de subvention ESMS numérique",
            "fait l'objet de votre désistement, dont nous prenons acte",
            "Motif indiqué par le porteur",
            by_authority=False,
        ),
    }.items()
    if state in State.values
}


@dataclass(frozen=True)
class Authority:
    """Who decides, signs and pays: the ARS of the pivot region, or the CNSA and the DNS for a national project."""

    header: list[str]
    name: str
    party: str
    signatory: str


def authority(dossier: Dossier) -> Authority:
    """D-DECISION-DOCUMENTS: the functions sign, as the texts name them; the person's name is added at signature."""
    if dossier.desk == "national":
        return Authority(
            header=[*REPUBLIC, "CAISSE NATIONALE DE SOLIDARITÉ POUR L'AUTONOMIE", "DÉLÉGATION AU NUMÉRIQUE EN SANTÉ"],
            name="la Caisse nationale de solidarité pour l'autonomie (CNSA) et la Délégation au numérique en santé "
            "(DNS)",
            party="La Caisse nationale de solidarité pour l'autonomie (CNSA) et la Délégation au numérique en santé "
            "(DNS), représentées par le directeur de la CNSA, ci-après « la CNSA et la DNS »",
            signatory="Pour la CNSA et la DNS, le directeur de la Caisse nationale de solidarité pour l'autonomie",
        )
    region = geography().region_name(dossier.pivot_region)
    return Authority(
        header=[*REPUBLIC, f"AGENCE RÉGIONALE DE SANTÉ {region.upper()}"],
        name=f"l'agence régionale de santé {region}",
        party=f"L'agence régionale de santé {region}, représentée par son directeur général, ci-après « l'ARS »",
        signatory=f"Le directeur général de l'agence régionale de santé {region}",
    )


def decision_of(dossier: Dossier) -> TransitionLog | None:
    """The last decision taken on the dossier, with its reason (the transition's comment)."""
    return dossier.transitions.filter(to_state__in=list(DECISIONS)).last()


def has_convention(dossier: Dossier) -> bool:
    """A convention follows a retained decision that still stands, with an amount engaged."""
    step = decision_of(dossier)
    return dossier.engaged_eur is not None and step is not None and DECISIONS[step.to_state].retained


def _date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return f"{value:%d/%m/%Y}"


def _in_words(number: int) -> str:
    return NUMBERS_IN_WORDS.get(number, str(number))


def _context(dossier: Dossier) -> CampaignContext:
    return CampaignContext(dossier.campaign, timezone.localtime(dossier.filed_at).date())


def _address(entity: LegalEntity) -> str:
    street = " ".join(p for p in (entity.street_number, entity.street_type, entity.street) if p)
    return " — ".join(p for p in (street, entity.street_complement, entity.postal_line) if p)


def _porteur_name(dossier: Dossier) -> str:
    return dossier.porteur.name or "Organisme gestionnaire"


def _committee(dossier: Dossier, step: TransitionLog) -> str:
    """« par le comité « … » du … » for a committee's decision."""
    item = (
        dossier.committee_items.filter(decision=step.to_state, decided_at__isnull=False)
        .select_related("committee")
        .order_by("decided_at")
        .last()
    )
    return f" par le comité « {item.committee.label} » du {_date(item.committee.date)}" if item else ""


def _result(dossier: Dossier) -> dict:
    return dossier.filed_result or dossier.result or {}


def _amount_lines(doc: PdfDocument, dossier: Dossier, engaged: bool = True) -> list[str]:
    """The amounts line by line with their rule (frozen at filing), the total computed and the amount engaged, and
    the sources of the rules applied. Returns the rule IDs printed."""
    result = _result(dossier)
    lines = result.get("lines", [])
    doc.table(
        ["Règle", "FINESS ET", "Rang", "Ligne", "Montant"],
        [
            [
                line["rule"],
                line.get("finess_et") or "—",
                line.get("rank") or "",
                line["label"],
                format_eur(line["amount_eur"]),
            ]
            for line in lines
        ],
        widths=[2.4 * cm, 2.4 * cm, 1.3 * cm, 8 * cm, 2.9 * cm],
    )
    sources: dict[str, str] = {}
    for line in lines:
        sources.setdefault(line["rule"], line.get("source", ""))
    rows = [("Total calculé par les règles au dépôt", format_eur(result.get("total_eur")))]
    if engaged:
        rows.append(("Montant engagé", format_eur(dossier.engaged_eur)))
    revised = dossier.amount_versions.order_by("number").last() if engaged else None
    if revised is not None and dossier.engaged_eur != result.get("total_eur"):
        rows.append(
            (f"Révision du montant (version {revised.number} du {_date(revised.at)})", f"Motif : {revised.reason}")
        )
    regime = (dossier.grappe.get("porteur") or {}).get("vat_regime")
    if regime:
        rows.append(("Régime de TVA du porteur (F-VAT)", f"montants exprimés {regime}"))
    doc.fields(rows)
    doc.paragraph("Sources des règles appliquées :", small=True)
    doc.table(["Règle", "Source"], list(sources.items()), widths=[3 * cm, 14 * cm])
    return list(sources)


def _addressee(doc: PdfDocument, dossier: Dossier) -> None:
    porteur = dossier.porteur
    lines = [_porteur_name(dossier), f"FINESS EJ {porteur.finess_ej}", _address(porteur)]
    doc.paragraph("<br/>".join(text(line) for line in lines if line), raw=True)


def appeal_paragraph(who: Authority, on: dt.date) -> str:
    """« Voies et délais de recours » (D-DECISION-DOCUMENTS): the contentious delay is a dated parameter."""
    months = default_tree().get(APPEAL_DELAY).in_force(on)
    return (
        f"Voies et délais de recours : la présente décision peut faire l'objet, dans un délai de "
        f"{_in_words(months.value)} mois à compter de sa notification, d'un recours gracieux auprès de "
        f"{who.name} ou d'un recours hiérarchique auprès du ministre chargé de la santé, ainsi que d'un recours "
        f"contentieux devant le tribunal administratif compétent (article R. 421-1 du code de justice "
        f"administrative). Un recours gracieux ou hiérarchique formé dans ce délai interrompt le délai du recours "
        f"contentieux (article L. 411-2 du code des relations entre le public et l'administration). Le tribunal "
        f"administratif peut être saisi par l'application Télérecours citoyens (www.telerecours.fr)."
    )


def _payment_sentence(dossier: Dossier, context: CampaignContext) -> str:
    share = context.get("payment.advance_share").value
    advance = advance_due(dossier)
    return (
        f"La subvention est versée en deux fois (F-PAY) : {format_share(share)} sous forme d'avance, soit "
        f"{format_eur(advance)}, {context.get('convention.advance_condition').value} ; le solde, soit "
        f"{format_eur(dossier.engaged_eur - advance)}, {context.get('convention.balance_condition').value}."
    )


def notification_letter(dossier: Dossier) -> bytes:
    """The letter that notifies the porteur of the decision on its dossier, with its reason, the amounts (retained
    dossier: F-USAGE, F-SOFTWARE, F-SAAD, F-EQUIP, F-AMOA lines, F-PAY) and the appeal paragraph."""
    step = decision_of(dossier)
    if step is None:
        raise NoDocument("Aucune décision à notifier")
    decision, who, result = DECISIONS[step.to_state], authority(dossier), _result(dossier)
    doc = PdfDocument("Notification de la décision", f"Notification {dossier.reference}", header=who.header)
    doc.paragraph(f"{PROGRAMME} — {result.get('campaign_label') or dossier.campaign}", small=True)
    doc.paragraph(f"Le {_date(step.at)}")
    _addressee(doc, dossier)
    doc.paragraph(f"<b>Objet :</b> {text(decision.subject)} — dossier {text(dossier.reference)}", raw=True)
    doc.paragraph("Madame, Monsieur,")
    committee = _committee(dossier, step) if decision.by_authority else ""
    doc.paragraph(
        f"Votre demande de subvention pour le projet « {dossier.title} » (dossier {dossier.reference}), déposée le "
        f"{_date(dossier.filed_at)} pour {result.get('essms_count', '—')} ESSMS, {decision.outcome}{committee}."
    )
    rules = []
    if decision.retained:
        doc.paragraph(
            f"Une subvention unique et forfaitaire de {format_eur(dossier.engaged_eur)} est attribuée au porteur. "
            "Son montant, ligne par ligne, avec la règle du programme qui le fonde :"
        )
        rules = _amount_lines(doc, dossier)
        doc.paragraph(
            _payment_sentence(dossier, _context(dossier))
            + " Une convention, à signer, en précise les conditions et les cibles d'usage."
        )
    if step.comment:
        doc.paragraph(f"<b>{text(decision.reason_label)} :</b> {text(step.comment)}", raw=True)
    if decision.by_authority:
        doc.paragraph(appeal_paragraph(who, timezone.localtime(step.at).date()), small=True)
    doc.paragraph("Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.")
    doc.signatures([who.signatory], dated=False)
    cited = f"Règles du programme citées : {', '.join([*rules, 'F-PAY'])}. " if decision.retained else ""
    doc.paragraph(f"{cited}Signataire et mention des recours : {SOURCE}.", small=True)
    return doc.render()


def funded_rows(dossier: Dossier) -> list[FundedEssms]:
    """The dossier's rows of the ledger with each ESSMS's name in the registry, in one query."""
    name = Establishment.objects.filter(finess_et=OuterRef("finess_et")).values("name")[:1]
    return list(
        dossier.ledger_rows.annotate(registry_name=Subquery(name)).order_by(F("rank").asc(nulls_last=True), "finess_et")
    )


def _targets(doc: PdfDocument, context: CampaignContext) -> None:
    """U-*: the campaign's targets, read from its parameters."""
    rows = []
    for name, rule_id in RATES.items():
        parameter = context.tree.get(context.name(f"usage_targets.{name}"))
        label = parameter.description.split("—", 1)[-1].strip()
        value = context.get(f"usage_targets.{name}")
        rows.append([rule_id, label, f"au moins {format_share(value.value)}", str(value.reference)])
    doc.table(["Règle", "Indicateur", "Cible", "Source"], rows, widths=[2.2 * cm, 5.3 * cm, 2.5 * cm, 7 * cm])
    window = context.get("usage_targets.window_months").value
    doc.paragraph(
        f"Services socles (U-MSS, U-DMP) : {context.get('convention.socle_measurement').value}. Indicateurs du DUI "
        f"(U-ACTIVE, U-PP, U-AGENDA) : sur les {_in_words(window)} mois qui précèdent la date de mesure."
    )


def _deployment(doc: PdfDocument, dossier: Dossier, context: CampaignContext) -> None:
    """F-PAY: the indicative deployment deadline (none for a national project), as the ARS may have extended it."""
    acquisitions = any(e.get("operation") == "acquisition" for e in _result(dossier).get("essms", []))
    months = context.get(f"payment.deployment_months_{'acquisition' if acquisitions else 'upgrade'}")
    info = deadline(dossier)
    due = info["due"] if info else None
    extended = dossier.deadline_extended_to
    if extended and (due is None or extended >= due):
        doc.paragraph(f"La fin du déploiement est fixée au {_date(extended)} (délai prolongé).")
    elif due is not None:
        doc.paragraph(
            f"Fin de déploiement indicative : {_date(due)}, {months.value} mois après la signature de la convention "
            f"({months.reference})."
        )
    elif dossier.desk == "national":
        doc.paragraph("Projet de portée nationale : pas de durée indicative de déploiement (AAP24 3.4.2).")
    else:
        doc.paragraph(
            f"À titre indicatif, le déploiement s'achève {months.value} mois après la signature de la présente "
            f"convention ({months.reference})."
        )


def convention(dossier: Dossier) -> bytes:
    """The convention between the ARS (or the CNSA and the DNS) and the porteur, generated from the amount engaged:
    parties, object, ESSMS (F-COUNT), amounts by rule, payment (F-PAY), usage targets (U-*), deadline, signatures."""
    if not has_convention(dossier):
        raise NoDocument("Aucun montant engagé")
    step, who, result, context = decision_of(dossier), authority(dossier), _result(dossier), _context(dossier)
    porteur = dossier.porteur
    doc = PdfDocument("Convention de financement", f"Convention {dossier.reference}", header=who.header)
    doc.paragraph(f"{PROGRAMME} — {result.get('campaign_label') or dossier.campaign}", small=True)
    doc.heading("Entre")
    doc.paragraph(who.party + ",")
    doc.heading("Et")
    doc.fields(
        [
            ("Porteur (organisme gestionnaire)", _porteur_name(dossier)),
            ("FINESS EJ", porteur.finess_ej),
            ("Adresse", _address(porteur) or "—"),
        ]
    )
    doc.paragraph("représenté par son représentant légal, ci-après « le porteur ».")

    doc.heading("Article 1 — Objet")
    doc.paragraph(
        f"La présente convention fixe les conditions dans lesquelles {who.name} attribue au porteur une subvention "
        f"unique et forfaitaire pour le projet « {dossier.title} » (dossier {dossier.reference}, campagne "
        f"{result.get('campaign_label') or dossier.campaign}), retenu le {_date(step.at)}{_committee(dossier, step)}."
    )
    rows = funded_rows(dossier)
    funded = [r for r in rows if r.fundable]
    doc.heading("Article 2 — ESSMS du projet")
    doc.paragraph(f"{len(funded)} ESSMS financés, un financement par FINESS géographique (F-COUNT, E-NO-DOUBLE) :")
    doc.table(
        ["FINESS ET", "ESSMS", "Opération", "Rang", "Montant"],
        [
            [
                r.finess_et,
                r.registry_name or "—",
                OPERATIONS.get(r.operation, r.operation),
                r.rank or "",
                format_eur(r.amount_eur),
            ]
            for r in funded
        ],
        widths=[2.4 * cm, 7 * cm, 3.3 * cm, 1.4 * cm, 2.9 * cm],
    )
    excluded = [r for r in rows if not r.fundable]
    if excluded:
        doc.paragraph(
            "ESSMS de la grappe non financés : "
            + ", ".join(f"{r.finess_et} {r.registry_name or ''}".strip() for r in excluded)
            + ".",
            small=True,
        )

    doc.heading("Article 3 — Montant de la subvention")
    rules = _amount_lines(doc, dossier)
    if dossier.engagement_reference:
        doc.paragraph(f"Référence de l'engagement (Chorus) : {dossier.engagement_reference}.")

    doc.heading("Article 4 — Versement")
    doc.paragraph(_payment_sentence(dossier, context))
    if result.get("equipment_eur") or result.get("amoa_eur"):
        doc.paragraph(
            "Le matériel (F-EQUIP) et l'AMOA (F-AMOA) sont financés dans la limite des devis et de la dépense réelle : "
            "le solde est diminué de ce qui n'a pas été dépensé."
        )
    doc.paragraph(
        "Sources : "
        + " ; ".join(
            str(context.get(name).reference)
            for name in ("payment.advance_share", "convention.advance_condition", "convention.balance_condition")
        ),
        small=True,
    )

    doc.heading("Article 5 — Cibles d'usage")
    doc.paragraph("Le versement du solde suppose l'atteinte des cibles d'usage suivantes, pour le projet :")
    _targets(doc, context)

    doc.heading("Article 6 — Durée du déploiement")
    _deployment(doc, dossier, context)

    doc.heading("Signatures")
    doc.signatures([who.signatory, f"Pour {_porteur_name(dossier)}, son représentant légal"])
    doc.paragraph(
        f"Règles du programme citées : F-COUNT, {', '.join(rules)}, F-PAY, "
        f"{', '.join(RATES.values())}. Parties et signataires : {SOURCE}.",
        small=True,
    )
    return doc.render()


def filing_receipt(dossier: Dossier) -> bytes:
    """The porteur's receipt of filing: the frozen result — guichet, ARS pivot, ESSMS, the amounts line by line with
    their rule, and the findings the instructors will weigh (« à apprécier ») — attached to the filing e-mail."""
    if dossier.filed_at is None:
        raise NoDocument("Dossier non déposé")
    result, who = _result(dossier), authority(dossier)
    doc = PdfDocument("Accusé de réception du dépôt", f"Accusé de réception {dossier.reference}", header=who.header)
    doc.paragraph(f"{PROGRAMME} — {result.get('campaign_label') or dossier.campaign}", small=True)
    _addressee(doc, dossier)
    doc.paragraph(
        f"Votre dossier {dossier.reference} « {dossier.title} » a été déposé le {_date(dossier.filed_at)} pour "
        f"{result.get('essms_count', '—')} ESSMS. Il sera instruit par {who.name}. Le résultat des règles est figé "
        "à cette date : c'est lui que l'instruction examine."
    )
    _amount_lines(doc, dossier, engaged=False)
    weighed = [f for f in result.get("findings", []) if f.get("verdict") == "a_apprecier"]
    if weighed:
        doc.paragraph("Constats que l'instruction appréciera :")
        doc.table(
            ["Règle", "FINESS ET", "Constat"],
            [[f["rule"], f.get("finess_et") or "—", f["message"]] for f in weighed],
            widths=[2.4 * cm, 2.4 * cm, 12.2 * cm],
        )
    doc.paragraph(
        "Cet accusé de réception ne vaut pas décision : la recevabilité, puis la sélection en comité, vous seront "
        "notifiées.",
        small=True,
    )
    return doc.render()
