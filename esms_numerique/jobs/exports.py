"""The dossiers' export (`www:dossier_export`) written by a task: the same columns and the same dossiers (those the
owner sees when it runs), as a file to download (DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

from django.core.files.base import ContentFile

from .models import Job
from .services import Outcome, Progress

BASENAME = "dossiers-esms-numerique"


def run(job: Job, progress: Progress) -> Outcome:
    # The page's own columns, rows and file format: one definition of what an export of dossiers holds. The list's
    # query string, when the job was given one (`query`), filters it as it filters the page.
    from esms_numerique.www.dossier_list_views import EXPORT_COLUMNS, export_rows
    from esms_numerique.www.exports import table_response

    fmt = job.params["format"]
    dossiers = export_rows(job.owner, job.params.get("query") or {})
    progress(50, f"{len(dossiers)} dossier(s) lus ; écriture du fichier.")
    response = table_response(fmt, BASENAME, {"Dossiers": (EXPORT_COLUMNS, dossiers)})
    return Outcome(
        summary=f"Export de {len(dossiers)} dossier(s) au format {fmt.upper()}.",
        file=ContentFile(response.content, name=f"{BASENAME}.{fmt}"),
        file_name=f"{BASENAME}.{fmt}",
    )
