"""The dossiers' export (`www:dossier_export`) written by a task: the same columns and the same dossiers (those the
owner sees when it runs), as a file to download (DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db.models import Q, Sum

from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.ledger.models import Recovery

from .models import Job
from .services import Outcome, Progress

BASENAME = "dossiers-esms-numerique"


def run(job: Job, progress: Progress) -> Outcome:
    # The page's own columns and file format: one definition of what an export of dossiers holds.
    from esms_numerique.www.dossier_list_views import EXPORT_COLUMNS
    from esms_numerique.www.exports import table_response

    fmt = job.params["format"]
    issued, received = Recovery.State.ISSUED, Recovery.State.RECEIVED
    dossiers = list(
        visible_dossiers(job.owner)
        .order_by("reference")
        .annotate(
            recovery_due=Sum("recoveries__amount_eur", filter=Q(recoveries__state=issued)),
            recovery_received=Sum("recoveries__amount_eur", filter=Q(recoveries__state=received)),
        )
    )
    rows = []
    for done, dossier in enumerate(dossiers, start=1):
        rows.append([get(dossier) for _, get in EXPORT_COLUMNS])
        progress(done * 95 / len(dossiers), f"Dossier {done} sur {len(dossiers)}.")
    progress(97, "Écriture du fichier.")
    response = table_response(fmt, BASENAME, {"Dossiers": ([name for name, _ in EXPORT_COLUMNS], rows)})
    return Outcome(
        summary=f"Export de {len(rows)} dossier(s) au format {fmt.upper()}.",
        file=ContentFile(response.content, name=f"{BASENAME}.{fmt}"),
        file_name=f"{BASENAME}.{fmt}",
    )
