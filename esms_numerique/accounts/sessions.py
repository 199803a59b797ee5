"""Idle timeout of signed-in sessions (docs/decisions.md, D-AUDIT-KEY): a session lives SESSION_COOKIE_AGE seconds
after the last request that pushed its end back. Pushing it back writes the session, so it is done at most once a
minute rather than on every request (which SESSION_SAVE_EVERY_REQUEST would do)."""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SEEN = "_esms_seen"
REFRESH_SECONDS = 60


def _mark(session) -> None:
    session[SEEN] = int(time.time())  # a change: the session is saved, its end and its cookie pushed back


@receiver(user_logged_in, dispatch_uid="esms_session_seen")
def seen_at_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        _mark(session)


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            seen = request.session.get(SEEN)
            if not isinstance(seen, int) or time.time() - seen >= REFRESH_SECONDS:
                _mark(request.session)
        return self.get_response(request)
