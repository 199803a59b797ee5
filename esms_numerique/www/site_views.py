"""The site's frame around the programme's pages: sign-in and sign-out with a French message, the error pages
(400, 403, 404, 413, 500) inside the DSFR frame, and the pages the DSFR footer requires (accessibilité, mentions
légales, données personnelles, plan du site)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from .limits import _megabytes, refusal

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------------
# Sign-in and sign-out


def _methods_of(view) -> set[str] | None:
    """The HTTP methods a view function accepts when a `require_http_methods` decorator says so (None: any). The
    decorator keeps its list in the closure of the function it returns; `functools.wraps` links the chain."""
    while view is not None:
        for cell in getattr(view, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v.isupper() for v in value):
                return set(value)
        view = getattr(view, "__wrapped__", None)
    return None


# Addresses a GET answers with a file to download, not a page: never a place to land on after signing in.
DOWNLOADS = {"www:dossier_piece_download", "www:job_download"}


def page_to_land_on(path: str) -> str:
    """Where a sign-in sends back to: `path` when a GET can show it, else the nearest page above it. A session that
    expired while a form was being sent (POST /dossiers/<ref>/message/) lands on the dossier's page, not on a 405
    (nor on a piece's download, for POST /dossiers/<ref>/pieces/<id>/retirer/)."""
    parts = urlsplit(path)
    candidate = parts.path
    while candidate and candidate != "/":
        try:
            match = resolve(candidate)
        except Resolver404:
            match = None
        if match is not None and match.view_name not in DOWNLOADS:
            methods = _methods_of(match.func)
            if methods is None or "GET" in methods:
                return candidate + (f"?{parts.query}" if candidate == parts.path and parts.query else "")
        candidate = candidate.rstrip("/").rsplit("/", 1)[0] + "/"
    return "/"


class LoginView(auth_views.LoginView):
    """Django's sign-in, landing on the person's home page (what awaits them), or on the page they were sent away
    from — as a GET — with a French message."""

    def get_success_url(self) -> str:
        wanted = self.get_redirect_url()
        if wanted:
            return page_to_land_on(wanted)
        return resolve_url("www:home")

    def get_redirect_url(self) -> str:
        wanted = self.request.POST.get("next", self.request.GET.get("next", ""))
        safe = url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return wanted if safe else ""

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Vous êtes connecté(e).")
        return response


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET: a page with the sign-out button (a link followed by a browser or a bookmark); POST: signs out, then the
    home page says so. Django's LogoutView accepts POST only and answers 405 to a GET."""
    if request.method == "POST":
        was_signed_in = request.user.is_authenticated
        logout(request)
        if was_signed_in:
            messages.info(request, "Vous êtes déconnecté(e). À bientôt.")
        return HttpResponseRedirect(resolve_url("www:home"))
    return render(request, "registration/logout.html")


# ---------------------------------------------------------------------------------------------------------------
# Error pages (config/urls.py: handler400, handler403, handler404, handler500)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """400, or 413 when a form's fields (a multipart body's non-file parts) exceed DATA_UPLOAD_MAX_MEMORY_SIZE:
    Django raises RequestDataTooBig while reading them, which it reports as a bad request."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        size = _megabytes(limit) if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} Ko"
        if request.content_type == "multipart/form-data":
            message = (
                f"Les champs du formulaire dépassent la taille acceptée ({size} au plus, hors fichiers joints) : "
                "raccourcissez le texte saisi ou envoyez-le en pièce jointe."
            )
        else:
            message = f"Le contenu envoyé dépasse la taille acceptée ({size} au plus)."
        return refusal(request, 413, "Requête trop volumineuse", message)
    return refusal(
        request,
        400,
        "Requête invalide",
        "La requête envoyée n'a pas pu être lue. Revenez à la page précédente et réessayez.",
    )


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "Vous n'avez pas accès à cette page."
    if request.path.startswith("/api/"):
        return refusal(request, 403, "Accès refusé", message)
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return refusal(request, 404, "Introuvable", "Cette adresse ne correspond à aucune ressource de l'API.")
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: rendered without the request's context (no database, no session, no user): what failed may be any of
    them. The template is the site's frame with what needs nothing."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Erreur du serveur", "errors": ["Une erreur est survenue de notre côté. Réessayez plus tard."]},
            status=500,
        )
    try:
        context = {"SITE_TITLE": settings.SITE_TITLE, "SITE_TAGLINE": settings.SITE_TAGLINE}
        return HttpResponse(loader.get_template("500.html").render(context), status=500)
    except Exception:  # the last resort must not fail in turn
        logger.exception("La page d'erreur 500 n'a pas pu être affichée")
        return HttpResponse(
            "<!DOCTYPE html><html lang='fr'><title>Erreur du serveur</title><h1>Erreur du serveur</h1>"
            "<p>Une erreur est survenue de notre côté. Réessayez dans quelques minutes.</p></html>",
            status=500,
        )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent from a page opened before a sign-in or a sign-out (its token changed)."""
    return refusal(
        request,
        403,
        "Formulaire expiré",
        "Ce formulaire a été ouvert avant une connexion ou une déconnexion : rechargez la page et envoyez-le à "
        "nouveau. Le texte que vous aviez saisi est gardé dans ce navigateur et vous sera proposé.",
    )


# ---------------------------------------------------------------------------------------------------------------
# The footer's pages


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "www/site/accessibilite.html")


def legal_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "www/site/mentions_legales.html")


def personal_data(request: HttpRequest) -> HttpResponse:
    return render(request, "www/site/donnees_personnelles.html")


def sitemap(request: HttpRequest) -> HttpResponse:
    return render(request, "www/site/plan_du_site.html")
