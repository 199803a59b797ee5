"""Pieces joined to a dossier: which types the campaign asks for, and what an acceptable file is."""

from __future__ import annotations

import hashlib

from django.conf import settings

from esms_numerique import clock
from esms_numerique.rules.context import CampaignContext

OTHER = ("autre", "Autre pièce")
# Accepted types: the extension and the first bytes must agree (PDF, OOXML/ODF archives, legacy Office).
SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".odt": (b"PK\x03\x04",),
    ".ods": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0",),
    ".xls": (b"\xd0\xcf\x11\xe0",),
}


class PieceError(ValueError):
    pass


def piece_types(campaign: str) -> list[tuple[str, str]]:
    """The pieces the campaign's texts list (AAP24 Annexe 2), standard then conditional, and « autre »."""
    context = CampaignContext(campaign, clock.today())
    if not context.has("eligibility/pieces.standard"):
        return [OTHER]
    rows = context.get("eligibility/pieces.standard").value + context.get("eligibility/pieces.conditional").value
    return [(row["code"], row["label"]) for row in rows] + [OTHER]


def check_upload(name: str, head: bytes, size: int) -> str:
    """Refuses a file that is empty, too large, or not what its extension claims; returns the extension."""
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in SIGNATURES:
        raise PieceError(f"« {name} » : type refusé (acceptés : {', '.join(sorted(SIGNATURES))}).")
    if size == 0:
        raise PieceError(f"« {name} » est vide.")
    if size > settings.PIECE_MAX_BYTES:
        limit = settings.PIECE_MAX_BYTES // (1024 * 1024)
        raise PieceError(f"« {name} » dépasse la taille maximale de {limit} Mo.")
    if not head.startswith(SIGNATURES[extension]):
        raise PieceError(f"« {name} » n'est pas un fichier {extension[1:].upper()} valide (contenu non reconnu).")
    return extension


def digest(chunks) -> str:
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()
