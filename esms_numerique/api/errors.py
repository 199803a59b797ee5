"""The API's refusals: a stable `code` (documented in docs/api.md), a French `detail`, the messages (each naming
its field or its rule), and the rule IDs they cite."""

from __future__ import annotations

import re
from enum import StrEnum

from ninja.responses import Status

RULE_ID = re.compile(r"\b([SEFUP]-[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\b")


class Code(StrEnum):
    INPUT = "entree_invalide"
    RULE = "refus_regle"
    UNAUTHENTICATED = "non_authentifie"
    BAD_TOKEN = "jeton_invalide"
    SCOPE = "portee_insuffisante"
    FORBIDDEN = "interdit"
    NOT_FOUND = "introuvable"
    STALE = "conflit_de_version"
    TOO_LARGE = "trop_volumineux"
    THROTTLED = "trop_de_requetes"
    FORM_LOCKED = "bon_signe_fige"
    ANONYMOUS_LIMIT = "limite_sans_compte"
    BUSY = "base_occupee"


STATUS_CODES = {
    400: Code.INPUT,
    401: Code.UNAUTHENTICATED,
    403: Code.FORBIDDEN,
    404: Code.NOT_FOUND,
    409: Code.STALE,
    413: Code.TOO_LARGE,
    429: Code.THROTTLED,
    503: Code.BUSY,
}


class ApiRefusal(Exception):
    def __init__(self, status: int, code: str, detail: str, errors: list[str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors or []


def rules_in(*texts: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        for rule in RULE_ID.findall(text):
            if rule not in found:
                found.append(rule)
    return found


def error_body(status: int, detail: str, errors: list[str] | None = None, code: str = "") -> dict:
    errors = errors or []
    return {
        "code": str(code or STATUS_CODES.get(status, Code.INPUT)),
        "detail": detail,
        "errors": errors,
        "rules": rules_in(detail, *errors),
    }


def refusal(status: int, detail: str, errors: list[str] | None = None, code: str = "") -> Status:
    return Status(status, error_body(status, detail, errors, code))


def not_found(what: str) -> Status:
    """An object the caller may not see does not exist for it."""
    return refusal(404, f"{what} introuvable")
