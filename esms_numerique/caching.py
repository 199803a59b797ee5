"""The one way a page's part is kept once made: under a digest of everything it was made from (a stamp of its data,
its parameters), in the per-process `pages` cache (config/settings/base.py), so a change of that data is a new key,
never a stale page (DECISIONS D-COMMITTEE-FIGURES-CACHE, D-DOSSIER-PAGE-SCALE, D-FOLLOW-UP-SUMMARY)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import BaseCache, caches
from django.middleware.csrf import get_token
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

T = TypeVar("T")
# An unused entry's life at most: only memory is at stake, the key changes with the data.
DEFAULT_SECONDS = 3600
_MISSING = object()


def pages() -> BaseCache:
    """The cache of the pages' parts (not the throttles': those are in `default`, shared in production)."""
    return caches["pages"]


def dossier_pages() -> BaseCache:
    """The dossiers' pages' contents: a few hundred KB each at most, hence a cache of their own, bounded to fewer
    entries than `pages` (config/settings/base.py; DECISION D-DOSSIER-PAGE-CACHE)."""
    return caches["dossier_pages"]


def key(prefix: str, parts) -> str:
    """`prefix:` and the sha256 of `parts` written as JSON (keys sorted; a value JSON does not know by its `str`: a
    date, a lazy label — pass a string for an object whose `str` is not its content)."""
    content = json.dumps(parts, sort_keys=True, default=str)
    return f"{prefix}:{hashlib.sha256(content.encode()).hexdigest()}"


def cached(
    prefix: str, parts, compute: Callable[[], T], timeout: int = DEFAULT_SECONDS, cache: BaseCache | None = None
) -> T:
    """What `compute()` returns for these parts: from the cache (`pages` unless said) when it was made already, else
    made and kept."""
    cache, name = cache or pages(), key(prefix, parts)
    found = cache.get(name, _MISSING)
    if found is _MISSING:
        found = compute()
        cache.set(name, found, timeout)
    return found


# A page's content kept in the cache carries this in place of the CSRF token; each request puts its own in the
# hidden inputs `{% csrf_token %}` renders, found whole: a user's text is escaped, so it never holds that markup.
CSRF_MARKER = "CSRFTOKENOFTHEREQUEST"
CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'


def with_csrf(request, content: str) -> SafeString:
    """A content rendered with `{"csrf_token": CSRF_MARKER}` (hence escaped by its template), with the request's token
    in its forms (escaped by format_html)."""
    return mark_safe(content.replace(CSRF_INPUT.format(CSRF_MARKER), format_html(CSRF_INPUT, get_token(request))))


def last_change_sql(other_than: str = "") -> tuple[str, list[str]]:
    """A stamp's column: the audit log's last entry that records a change of data, as a subquery (without its
    parentheses) and its parameters, to pass with the query's others in order. Every change made through the services
    is audited in its transaction and the digest chains the whole log; a sign-in (accounts/signals.py) changes nothing
    a page shows, and would otherwise empty every page's cache at each login (DECISION D-COMMITTEE-FIGURES-CACHE).
    `other_than`: an object type whose entries are left out (the dossiers', for the dossier page's stamp, which reads
    its own dossier's apart; an index of the log answers that form, D-DOSSIER-PAGE-CACHE)."""
    from esms_numerique.audit.models import SIGN_INS, AuditEntry

    sign_ins = ", ".join(["%s"] * len(SIGN_INS))
    where, params = f"action NOT IN ({sign_ins})", list(SIGN_INS)
    if other_than:
        where, params = f"object_type <> %s AND {where}", [other_than, *params]
    return f"SELECT digest FROM {AuditEntry._meta.db_table} WHERE {where} ORDER BY id DESC LIMIT 1", params
