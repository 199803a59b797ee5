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


def citations(source: str) -> list[Citation]:
    """« AAP24 3.3.2 1) Financement… (001_….txt) ; DECISION D-RANKS (docs/decisions.md) » → the AAP's title with
    « 3.3.2 1) Financement… », then « Choix de la plateforme… » with « D-RANKS ». Unknown parts are kept as they
    are (the registry's extraction, a free text), each once."""
    known = _by_short_name()
    found: list[Citation] = []
    for part in (p.strip() for p in (source or "").split(";")):
        if not part:
            continue
        body = PART.match(part).group("body").strip()
        short, _, paragraph = body.partition(" ")
        entry = known.get(short)
        if entry is None:
            citation = Citation(body, "")
        else:
            title = FILE_NAME.sub("", entry["title"]).strip()
            citation = Citation(title, paragraph.strip(), entry.get("url", ""))
        if citation not in found:
            found.append(citation)
    return found
