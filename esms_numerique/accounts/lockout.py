"""Sign-in lockout (django-axes) and the client's address it counts by (docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.shortcuts import render


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' backend (first of AUTHENTICATION_BACKENDS: a locked-out pair is refused before any password is
    checked), which also marks the request it refuses, for the audit of failed sign-ins."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            request.esms_locked_out = True
            raise


def client_ip(request) -> str | None:
    """The client's address: the connection's, or, behind `ESMS_TRUSTED_PROXIES` reverse proxies, the one the
    outermost trusted proxy saw (X-Forwarded-For is read from the right: what the client wrote itself is ignored)."""
    meta = getattr(request, "META", {}) or {}
    proxies = settings.ESMS_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return meta.get("REMOTE_ADDR") or None


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out sign-in gets, in French, with 429 (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/connexion_bloquee.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes},
        status=429,
    )
