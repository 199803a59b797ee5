"""How an audit entry's digest is computed, by version of the log (docs/decisions.md, D-AUDIT-KEY).

Version 1, before the key: SHA-256 of the entry's fields and its predecessor's digest; anyone who can write to the
table can recompute it. Version 2: HMAC-SHA256 of the same fields and the version, keyed with `AUDIT_HMAC_KEY`,
which lives outside the database. Plain functions of plain values, so that migrations can use them too."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

LEGACY = 1  # written before the key: plain SHA-256
KEYED = 2  # HMAC-SHA256 with AUDIT_HMAC_KEY
GENESIS = "0" * 64


def payload(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")


def legacy_digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(payload(fields)).hexdigest()


def keyed_digest(key: str, fields: dict[str, Any]) -> str:
    return hmac.new(key.encode("utf-8"), payload({**fields, "version": KEYED}), hashlib.sha256).hexdigest()


def signature(key: str, text: str) -> str:
    """The key's signature of an anchor (the date, the last entry's id and its digest)."""
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
