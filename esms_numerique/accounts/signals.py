"""Sign-ins and failed sign-ins go to the audit log, with the client's address and the page (docs/decisions.md,
D-AUDIT-KEY). A failed sign-in names the identifier typed, which may be nobody's."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from esms_numerique.audit.services import record

from .lockout import client_ip


def _where(request) -> dict:
    if request is None:
        return {}
    return {"adresse": client_ip(request), "page": getattr(request, "path", "")[:200]}


@receiver(user_logged_in, dispatch_uid="esms_audit_login")
def audit_login(sender, request, user, **kwargs):
    username = user.get_username()
    record(username, "login", "User", username, after={**_where(request), "moyen": getattr(user, "backend", "")})


@receiver(user_login_failed, dispatch_uid="esms_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    typed = str((credentials or {}).get("username", ""))[:150]
    # Refused by the lockout, before the password was even checked (lockout.LockoutBackend), or by a wrong password.
    locked = bool(getattr(request, "esms_locked_out", False))
    record("anonyme", "login_failed", "User", typed, after={**_where(request), "bloquée": locked})
