"""A dossier in one file: a ZIP of its current pieces, their SHA-256 and a summary PDF (reference, porteur, state,
ESSMS, amounts, the log of its steps) (DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile

from django.core.files import File
from django.utils import timezone

from esms_numerique import clock
from esms_numerique.documents.pdf import PdfDocument
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.pieces import all_piece_types
from esms_numerique.dossiers.workflow import WORKFLOW
from esms_numerique.registry.models import Establishment
from esms_numerique.rules.explain import DESKS
from esms_numerique.rules.geography import geography
from esms_numerique.rules.money import format_eur

from .models import Job
from .services import JobError, Outcome, Progress


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else "—"


def _state(code: str) -> str:
    return State(code).label if code in State.values else code


def _essms_rows(dossier: Dossier) -> list[list]:
    rows = list(dossier.ledger_rows.all())
    names = dict(
        Establishment.objects.filter(finess_et__in=[r.finess_et for r in rows]).values_list("finess_et", "name")
    )
    return [
        [
            r.finess_et,
            names.get(r.finess_et, ""),
            r.operation,
            r.rank or "",
            format_eur(r.amount_eur) if r.fundable else "non finançable",
            r.get_state_display(),
        ]
        for r in rows
    ]


def summary_pdf(dossier: Dossier) -> bytes:
    result = dossier.filed_result or dossier.result or {}
    porteur = dossier.porteur
    doc = PdfDocument("Synthèse du dossier", f"Dossier {dossier.reference}")
    doc.paragraph(
        f"Dossier {dossier.reference} « {dossier.title} » — appel à projets ESMS numérique {dossier.campaign}. "
        f"Situation au {_when(clock.now())}, établie par la plateforme à partir de ses données."
    )
    doc.heading("Dossier")
    region = dossier.pivot_region
    doc.fields(
        [
            ("Référence", dossier.reference),
            ("Intitulé", dossier.title),
            ("Porteur", f"{porteur.finess_ej} {porteur.name}".strip()),
            ("État", dossier.state_label),
            ("Guichet", DESKS.get(dossier.desk, "—")),
            ("ARS pivot", f"{geography().region_name(region)} ({region})" if region else "—"),
            ("Déposé le", _when(dossier.filed_at)),
            ("Référence de l'engagement (Chorus)", dossier.engagement_reference or "—"),
        ]
    )
    doc.heading("ESSMS de la grappe")
    doc.table(
        ["FINESS ET", "Nom", "Opération", "Rang", "Montant", "Financement"],
        _essms_rows(dossier) or [["Aucun ESSMS inscrit", "", "", "", "", ""]],
    )
    doc.heading("Montants")
    doc.fields(
        [
            (
                "Total calculé par les règles" + (" au dépôt" if dossier.filed_result else ""),
                format_eur(result.get("total_eur")),
            ),
            ("Montant engagé", format_eur(dossier.engaged_eur)),
            ("Avance versée", format_eur(dossier.advance_paid_eur)),
            ("Solde versé", format_eur(dossier.balance_paid_eur)),
        ]
    )
    labels = dict(all_piece_types(dossier.campaign))
    doc.heading("Pièces jointes (dans le dossier pieces/ de l'archive)")
    doc.table(
        ["Pièce", "Fichier", "Déposée le"],
        [[labels.get(p.code, p.code), p.original_name, _when(p.uploaded_at)] for p in dossier.pieces.all()]
        or [["Aucune pièce jointe", "", ""]],
    )
    doc.heading("Journal des étapes")
    steps = []
    for log in dossier.transitions.select_related("actor"):
        transition = WORKFLOW.get(log.transition)
        steps.append(
            [
                _when(log.at),
                transition.label if transition else log.transition,
                f"{_state(log.from_state)} → {_state(log.to_state)}",
                log.actor.get_username(),
                log.comment,
            ]
        )
    doc.table(["Date", "Étape", "États", "Par", "Commentaire"], steps or [["Aucune étape", "", "", "", ""]])
    return doc.render()


def _archive_name(piece, taken: set[str]) -> str:
    """pieces/<type>-<original name>, without separators, once each (« -2 » before the extension otherwise)."""
    original = re.sub(r"[\\/:\x00-\x1f]", "_", piece.original_name).strip(". ") or "piece"
    stem, dot, ext = original.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (original, "")
    name, number = f"pieces/{piece.code}-{original}", 2
    while name in taken:
        name, number = f"pieces/{piece.code}-{stem}-{number}{ext}", number + 1
    taken.add(name)
    return name


def _write(archive, dossier: Dossier, pieces: list, progress: Progress) -> None:
    taken: set[str] = set()
    sums = []
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        progress(0, "Synthèse du dossier (PDF).")
        zf.writestr(f"{dossier.reference}-synthese.pdf", summary_pdf(dossier))
        for done, piece in enumerate(pieces, start=1):
            progress(done * 100 / (len(pieces) + 1), f"Pièce {done} sur {len(pieces)} : {piece.original_name}.")
            name = _archive_name(piece, taken)
            try:
                source = piece.file.open("rb")
            except FileNotFoundError:
                raise JobError(
                    f"La pièce « {piece.original_name} » est introuvable dans le stockage : l'administrateur est "
                    "à prévenir ; aucune archive n'a été produite."
                ) from None
            with source, zf.open(name, "w") as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
            sums.append(f"{piece.sha256}  {name}")
        zf.writestr("empreintes-sha256.txt", "".join(f"{line}\n" for line in sums))


def run(job: Job, progress: Progress) -> Outcome:
    reference = job.params["reference"]
    # Read with the owner's rights at the time it runs: a dossier the owner no longer sees is not bundled.
    dossier = visible_dossiers(job.owner).filter(reference=reference).first()
    if dossier is None:
        raise JobError(f"Dossier {reference} introuvable : vous ne le voyez plus.")
    pieces = list(dossier.pieces.all())
    # On disk, not in memory (pieces weigh up to megabytes each); closed, hence deleted, once the result is saved.
    archive = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        _write(archive, dossier, pieces, progress)
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return Outcome(
        summary=f"Archive du dossier {reference} : {len(pieces)} pièce(s) et la synthèse PDF.",
        file=File(archive, name=f"{reference}.zip"),
        file_name=f"{reference}-dossier.zip",
    )
