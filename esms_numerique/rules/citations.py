"""The sources a result cites, as the public reads them: the text's title (sources.yaml), the paragraph, and the
link to the public text when there is one. A source string is « SHORT paragraph (seed file) ; … » (results.py,
source_of); the seed's file name and the platform's decisions file are technical detail, shown apart (issue 12)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .parameters import load_sources

FILE_NAME = re.compile(r"\s*\([^()]*\.(?:txt|md)\)")
PART = re.compile(r"^(?P<body>.*?)\s*(?:\((?P<file>[^()]*\.(?:txt|md))\))?$")


@dataclass(frozen=True)
class Citation:
    title: str
    paragraph: str
    url: str = ""


@cache
def _by_short_name() -> dict[str, dict]:
    return load_sources()


def _parts(source: str) -> list[str]:
    """« A (x ; y) ; B » → ["A (x ; y)", "B"]: a semicolon inside parentheses does not separate two texts."""
    parts, depth, current = [], 0, []
    for char in source or "":
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth <= 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def citations(source: str) -> list[Citation]:
    """« AAP24 3.3.2 1) Financement… (001_….txt) ; DECISION D-RANKS (docs/decisions.md) » → the AAP's title with
    « 3.3.2 1) Financement… », then « Choix de la plateforme… » with « D-RANKS ». A decision is cited by its
    identifier alone (what follows is for programme officers, in the technical detail). Unknown parts are kept as
    they are (the registry's extraction, a free text), each once."""
    known = _by_short_name()
    found: list[Citation] = []
    for part in _parts(source):
        body = PART.match(part).group("body").strip()
        short, _, paragraph = body.partition(" ")
        entry = known.get(short)
        if entry is None:
            citation = Citation(body, "")
        else:
            if short == "DECISION":
                paragraph = paragraph.split(" ", 1)[0]
            title = FILE_NAME.sub("", entry["title"]).strip()
            citation = Citation(title, paragraph.strip(), entry.get("url", ""))
        if citation not in found:
            found.append(citation)
    return found
