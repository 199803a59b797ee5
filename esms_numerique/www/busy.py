"""A database too busy to answer now is said in French, with « réessayez », instead of a server error
(DECISION D-DATABASE-BUSY, docs/decisions.md).

SQLite, the embedded default, serialises writers (IMMEDIATE transactions, D-LEDGER): a writer waits for the lock up
to the connection's timeout, then fails with « database is locked ». PostgreSQL may end a transaction on a deadlock,
a serialisation failure or a lock timeout. In each case the failing transaction was rolled back as a whole, and the
same request sent again a moment later succeeds: the user is told so (503 with `Retry-After`).
"""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse

from .limits import refusal

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2
# PostgreSQL's SQLSTATEs of a transaction that may simply be tried again.
RETRYABLE_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
}
BUSY_TITLE = "Service momentanément occupé"
# What failed was rolled back as a whole; a step of the same request committed before it (a read mark, an e-mail
# queued) may remain: the user is asked to look before trying again, not told that nothing was written.
BUSY_MESSAGE = (
    "La base de données traite d'autres enregistrements en ce moment : l'opération en cours a été annulée. "
    f"Vérifiez la page puis réessayez dans {RETRY_AFTER_SECONDS} secondes ; si le problème persiste, "
    "contactez l'assistance."
)


def is_busy(error: BaseException) -> bool:
    """True for an error that says « the database is busy », not « the request is wrong »."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error) or "database table is locked" in str(error)


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_busy(exception):
            return None
        logger.warning("Base occupée sur %s %s : %s", request.method, request.path, exception)
        response = refusal(request, 503, BUSY_TITLE, BUSY_MESSAGE)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
