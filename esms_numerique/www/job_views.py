"""Pages of the work done in the background: the FINESS import from the registry, a dossier's ZIP, the dossiers'
export, and the job's page that follows it (htmx, every 2 seconds) and offers its file
(DECISION D-JOBS (docs/decisions.md))."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from esms_numerique.jobs import services
from esms_numerique.jobs.enums import Kind
from esms_numerique.jobs.models import Job

from .dossier_list_views import ListQuery
from .dossier_views import visible_or_404


class RegistryImportForm(DsfrBaseForm):
    et_file = forms.FileField(
        label="Extraction des établissements (ET)",
        help_text="Fichier CSV de l'extraction DREES/etalab (« etalab-cs1100507-stock… »), UTF-8 ou Windows-1252.",
    )
    ej_file = forms.FileField(
        label="Extraction des entités juridiques (EJ), facultative",
        help_text="Fichier CSV « etalab-cs1100501-stock… » : complète les organismes gestionnaires.",
        required=False,
    )


def _job_page(job: Job):
    return redirect("www:job_detail", pk=job.pk)


@login_required
def registry_import(request):
    if not services.may_import_registry(request.user):
        raise PermissionDenied("Import réservé aux administrateurs et aux comptes autorisés à importer.")
    if request.method == "POST":
        form = RegistryImportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            return _job_page(services.start_registry_import(request.user, data["et_file"], data.get("ej_file")))
    else:
        form = RegistryImportForm()
    imports = Job.objects.filter(owner=request.user, kind=Kind.REGISTRY_IMPORT)[:10]
    return render(request, "www/jobs/registry_import.html", {"form": form, "imports": imports})


@login_required
def job_list(request):
    jobs = Job.objects.filter(owner=request.user)[:50]
    return render(request, "www/jobs/list.html", {"jobs": jobs, "formats": services.EXPORT_FORMATS})


@login_required
def job_detail(request, pk):
    """The whole page, or (htmx, while the job runs) only its status block, which the page swaps in."""
    job = get_object_or_404(services.visible_jobs(request.user), pk=pk)
    template = "www/jobs/_status.html" if request.htmx else "www/jobs/detail.html"
    return render(request, template, {"job": job, "can_download": services.may_download(request.user, job)})


@login_required
def job_download(request, pk):
    job = get_object_or_404(services.visible_jobs(request.user), pk=pk)
    if not services.may_download(request.user, job):
        raise Http404("Aucun fichier à télécharger")
    return FileResponse(job.result.open("rb"), as_attachment=True, filename=job.result_name)


@require_POST
@login_required
def dossier_bundle(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    return _job_page(services.start_dossier_bundle(request.user, dossier))


@require_POST
@login_required
def dossier_export_job(request, fmt: str):
    if fmt not in services.EXPORT_FORMATS:
        raise Http404("Format d'export inconnu")
    # The list's filters (search, état, échéance, tab, sort) as the list page sent them, checked as the list checks
    # them: the background export holds what the list showed (DECISION D-LIST-TABS).
    filters = ListQuery.of(QueryDict(request.POST.get("filtres", ""))).params()
    return _job_page(services.start_dossier_export(request.user, fmt, filters))
