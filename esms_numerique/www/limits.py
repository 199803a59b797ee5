"""Limits that guard every request before a view runs, and the per-IP throttle of the anonymous simulators
(DECISION D-LIMITS, docs/decisions.md).

- A NUL character in the path or the query string is answered 400: no FINESS, reference or search holds one,
  and PostgreSQL cannot store it.
- A body larger than its limit is answered 413 before it is read: the API's JSON, a file sent to the API, a form,
  an upload each have theirs (settings `API_MAX_BODY_BYTES`, `API_MAX_UPLOAD_BYTES`, `DATA_UPLOAD_MAX_MEMORY_SIZE`,
  `UPLOAD_MAX_BODY_BYTES`).
- The anonymous simulators are throttled per IP address with django-ninja's throttles (the API) and the same
  throttle as a view decorator (the simulator page): 429 with `Retry-After`.
- Every page carries the Content-Security-Policy of `CONTENT_SECURITY_POLICY` (django-csp), and every response
  says which browser features the pages never use (`Permissions-Policy`).
"""

from __future__ import annotations

import math
from functools import wraps

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from ninja.throttling import AnonRateThrottle

from esms_numerique.api.errors import STATUS_CODES, Code

API_PREFIX = "/api/"
# The API routes that take a file (multipart/form-data), by their name (api/dossiers.py, api/orders.py).
API_FILE_ROUTES = frozenset({"api:dossier_piece", "api:order_signed_form"})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} Mo".replace(".", ",")


def refusal(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    """A refusal in French: JSON for the API (its `code`/`detail`/`errors` shape, the stable code of its status as
    every API error: docs/api.md), the error block for an htmx request (the simulator's preview, which shows it in
    place of the result), a DSFR page otherwise."""
    if request.path.startswith(API_PREFIX):
        code = str(STATUS_CODES.get(status, Code.INPUT))
        return JsonResponse({"code": code, "detail": title, "errors": [message]}, status=status)
    if request.headers.get("HX-Request") == "true":
        context = {"errors": [message], "errors_title": title}
        return render(request, "www/_errors.html", context, status=status)
    return render(request, "www/error.html", {"title": title, "message": message}, status=status)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists())


def _api_route(path: str) -> str:
    try:
        return resolve(path).view_name
    except Resolver404:
        return ""


def body_limit(request: HttpRequest) -> int:
    """The largest body this request may carry."""
    if request.path.startswith(API_PREFIX):
        # A file (a piece, a signed order form) goes through the API as through its page: one piece's size and
        # the form's fields, on the routes that take a file only (any other route reads its body as JSON, whatever
        # the content type says); JSON keeps the API's own limit.
        if request.content_type == "multipart/form-data" and _api_route(request.path) in API_FILE_ROUTES:
            return settings.API_MAX_UPLOAD_BYTES
        return settings.API_MAX_BODY_BYTES
    if request.content_type == "multipart/form-data":
        return settings.UPLOAD_MAX_BODY_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class RequestLimitsMiddleware:
    """NUL characters (400) and oversized bodies (413), before anything reads the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return refusal(
                request,
                400,
                "Requête invalide",
                "L'adresse contient un caractère nul (%00), qu'aucun FINESS, référence ni recherche ne contient.",
            )
        limit = body_limit(request)
        if _content_length(request) > limit:
            return refusal(
                request,
                413,
                "Requête trop volumineuse",
                f"Le contenu envoyé dépasse la taille acceptée ({_megabytes(limit)} au plus).",
            )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Turns off the browser features no page uses (setting `PERMISSIONS_POLICY`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response


class PageCSPMiddleware(CSPMiddleware):
    """django-csp's policy on every response but PDFs: Chrome shows a PDF in a viewer that a page's policy would
    block (crbug.com/271452), and a PDF runs no script of ours. SVG charts bring their own stricter policy."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.get("Content-Type", "").startswith("application/pdf"):
            response._csp_exempt = True
        return super().process_response(request, response)


class SettingsRateThrottle(AnonRateThrottle):
    """django-ninja's per-IP throttle, its rate read from `ESMS_THROTTLE_RATES[scope]` at each request (so that
    the environment and the tests set it); an empty rate turns it off. The client's address is REMOTE_ADDR, or the
    address `NINJA_NUM_PROXIES` trusted proxies put in X-Forwarded-For."""

    def __init__(self, scope: str):
        self.scope = scope
        self.rate = None

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = settings.ESMS_THROTTLE_RATES.get(self.scope) or None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def retry_after(self) -> int:
        """Seconds until the oldest counted request leaves the window: then one more is allowed."""
        remaining = self.duration - (self.now - self.history[-1]) if self.history else self.duration
        return max(1, math.ceil(remaining))


THROTTLED_MESSAGE = "Trop de simulations depuis votre adresse : réessayez dans {seconds} secondes."


def throttled(scope: str):
    """A view decorator: at most the scope's rate of POST requests per IP address (a simulation), then 429 with
    `Retry-After`; reading the page is not counted."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if request.method != "POST":
                return view(request, *args, **kwargs)
            throttle = SettingsRateThrottle(scope)
            if throttle.allow_request(request):
                return view(request, *args, **kwargs)
            seconds = throttle.retry_after()
            response = refusal(request, 429, "Trop de requêtes", THROTTLED_MESSAGE.format(seconds=seconds))
            response["Retry-After"] = str(seconds)
            return response

        return wrapped

    return decorator
