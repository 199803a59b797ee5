"""Pieces joined to a dossier: which types the campaign asks for and in which states the porteur may add, replace or
remove them, what an acceptable file is, and what the dossier's page shows of them (current versions, previous
ones, the checklist of expected pieces). DECISION D-PIECE-VERSIONS (docs/decisions.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from esms_numerique import clock
from esms_numerique.rules.context import CampaignContext
from esms_numerique.rules.parameters import ParameterError

from .access import is_porteur_of
from .enums import State
from .evaluation import evaluate, piece_codes
from .models import Dossier, Piece
from .workflow import EDITABLE, ENDED, DossierError

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
# The lifecycle after the decision, in the order a dossier goes through it. A post-decision piece is joined from
# the state its parameter names (`from`) and frozen from the state where the step it proves is done (`until`).
AFTER_DECISION_PATH = (
    State.ENGAGE,
    State.CONVENTION_SIGNEE,
    State.AVANCE_DEMANDEE,
    State.AVANCE_VERSEE,
    State.EN_DEPLOIEMENT,
    State.CIBLES_MESUREES,
    State.SOLDE_DEMANDE,
    State.SOLDE_VERSE,
)
# Where no piece changes any more: the dossier ended, was refused or closed.
CLOSED = ENDED | {State.NON_RECEVABLE, State.NON_RETENU, State.CLOS}
AFTER_DECISION_PREFIX = "after_decision_"
AFTER_DECISION_KEYS = {"code", "label", "rule", "from", "until", "when"}


class PieceError(ValueError):
    pass


def _filing_rows(campaign: str) -> list[tuple[dict[str, Any], str]]:
    """The filing pieces' rows (AAP24 Annexe 2), standard then conditional, each with its source."""
    context = CampaignContext(campaign, clock.today())
    if not context.has("eligibility/pieces.standard"):
        return []
    values = (context.get("eligibility/pieces.standard"), context.get("eligibility/pieces.conditional"))
    return [(row, str(value.reference)) for value in values for row in value.value]


def piece_types(campaign: str) -> list[tuple[str, str]]:
    """The pieces the campaign's texts list for filing (AAP24 Annexe 2), standard then conditional, and « autre »."""
    return [(row["code"], row["label"]) for row, _ in _filing_rows(campaign)] + [OTHER]


def _funds_equipment(dossier: Dossier) -> bool:
    result = dossier.filed_result or dossier.result or {}
    return any(line.get("rule") == "F-EQUIP" and line.get("amount_eur") for line in result.get("lines", []))


# The `when` of a post-decision piece: whether the dossier asks for it, and what to say when it does not.
CONDITIONS = {"equipment": (_funds_equipment, "aucun matériel n'est financé (pas de ligne F-EQUIP)")}


@dataclass(frozen=True)
class AfterDecisionType:
    """A piece the porteur joins after the decision, read from the `after_decision_*` pieces parameters."""

    code: str
    label: str
    rule: str
    opens: State
    frozen_from: State
    when: str | None
    source: str

    def asked_of(self, dossier: Dossier) -> bool:
        return self.when is None or CONDITIONS[self.when][0](dossier)


def _after_decision_type(where: str, row: dict[str, Any], source: str) -> AfterDecisionType:
    if set(row) - AFTER_DECISION_KEYS or not AFTER_DECISION_KEYS - {"when"} <= set(row):
        raise ParameterError(f"{where} : clés attendues {sorted(AFTER_DECISION_KEYS)} (« when » facultative)")
    path = [state.value for state in AFTER_DECISION_PATH]
    if not (row["from"] in path and row["until"] in path and path.index(row["from"]) < path.index(row["until"])):
        raise ParameterError(f"{where} : « from » doit précéder « until » sur le chemin {', '.join(path)}")
    if row.get("when") is not None and row["when"] not in CONDITIONS:
        raise ParameterError(f"{where} : condition inconnue « {row['when']} »")
    opens, frozen_from = State(row["from"]), State(row["until"])
    return AfterDecisionType(row["code"], row["label"], row["rule"], opens, frozen_from, row.get("when"), source)


def after_decision_types(campaign: str) -> list[AfterDecisionType]:
    """The post-decision pieces of the campaign, each with the states that open and freeze it and its source.
    A row with an unknown key, state or condition is an error, not a piece silently never asked."""
    context = CampaignContext(campaign, clock.today())
    file = context.tree.files.get(context.name("eligibility/pieces"))
    names = [name for name in (file.parameters if file else {}) if name.startswith(AFTER_DECISION_PREFIX)]
    types = []
    for name in names:
        value = context.get(f"eligibility/pieces.{name}")
        where = f"{context.name('eligibility/pieces')}.{name}"
        types += [_after_decision_type(where, row, str(value.reference)) for row in value.value]
    return types


@dataclass(frozen=True)
class Catalogue:
    """Every type of piece a dossier of the campaign may hold: the filing pieces, then the post-decision ones."""

    filing: dict[str, str]
    filing_sources: dict[str, str]
    after_decision: dict[str, AfterDecisionType]

    @classmethod
    def of(cls, campaign: str) -> Catalogue:
        rows = _filing_rows(campaign)
        return cls(
            dict([*((row["code"], row["label"]) for row, _ in rows), OTHER]),
            {row["code"]: source for row, source in rows},
            {t.code: t for t in after_decision_types(campaign)},
        )

    def label(self, code: str) -> str:
        found = self.after_decision.get(code)
        return found.label if found else self.filing.get(code, code)

    def choices(self) -> list[tuple[str, str]]:
        return [*self.filing.items(), *((t.code, t.label) for t in self.after_decision.values())]


def all_piece_types(campaign: str) -> list[tuple[str, str]]:
    """The choices an upload form accepts; whether the dossier's state allows one is `change_refusal`'s answer."""
    return Catalogue.of(campaign).choices()


def is_filing_piece(campaign: str, code: str) -> bool:
    """A piece E-PIECES may count: changing one re-runs the live findings."""
    return code in dict(piece_types(campaign))


def change_refusal(dossier: Dossier, code: str, catalogue: Catalogue | None = None) -> str | None:
    """Why the porteur may not add, replace or remove a piece of type `code` in the dossier's current state, in
    French; None when it may. Filing pieces change before filing and during a complement request; a post-decision
    piece from the state that opens it until the one where the step it proves is done (D-PIECE-VERSIONS)."""
    catalogue = catalogue or Catalogue.of(dossier.campaign)
    state = State(dossier.state)
    if code in catalogue.filing:
        if state in EDITABLE:
            return None
        return (
            f"Le dossier est « {state.label} » : les pièces du dépôt ne se modifient plus (seulement avant le dépôt "
            "et pendant une demande de complément)."
        )
    kind = catalogue.after_decision.get(code)
    if kind is None:
        return f"Type de pièce inconnu « {code} »."
    if not kind.asked_of(dossier):
        return f"« {kind.label} » n'est pas demandée à ce dossier : {CONDITIONS[kind.when][1]}."
    if state in CLOSED:
        return f"Le dossier est « {state.label} » : ses pièces ne se modifient plus."
    position = AFTER_DECISION_PATH.index(state) if state in AFTER_DECISION_PATH else -1
    if position < AFTER_DECISION_PATH.index(kind.opens):
        return (
            f"« {kind.label} » se joint à partir de l'état « {kind.opens.label} » ; le dossier est « {state.label} »."
        )
    if position >= AFTER_DECISION_PATH.index(kind.frozen_from):
        return (
            f"« {kind.label} » ne se modifie plus depuis l'état « {kind.frozen_from.label} » : l'étape qu'elle "
            "prouve est faite."
        )
    return None


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


def checked_upload(upload) -> str:
    """The SHA-256 of an uploaded file that check_upload accepts (PieceError otherwise); the file is rewound."""
    head = upload.read(8)
    upload.seek(0)
    check_upload(upload.name, head, upload.size)
    sha = digest(upload.chunks())
    upload.seek(0)
    return sha


def stored_piece(dossier: Dossier, code: str, upload, sha: str, user, replaces: Piece | None = None) -> Piece:
    """A new piece, not saved yet, whose file is already written to the pieces storage (and never deleted)."""
    piece = Piece(
        dossier=dossier,
        code=code,
        original_name=upload.name[:255],
        size=upload.size,
        sha256=sha,
        uploaded_by=user,
        replaces=replaces,
    )
    piece.file.save(f"{dossier.reference}-{code}-{sha[:12]}", upload, save=False)
    return piece


def locked_current_piece(dossier: Dossier, piece: Piece) -> Piece:
    """The piece's row, locked until the end of the transaction, if it is still a current piece of the dossier."""
    locked = Piece.versions.select_for_update().filter(pk=piece.pk, dossier_id=dossier.pk).first()
    if locked is None:
        raise DossierError("Cette pièce n'appartient pas au dossier.")
    if locked.removed_at is not None or Piece.versions.filter(replaces=locked).exists():
        raise DossierError("Cette pièce a déjà été remplacée ou retirée : rechargez la page.")
    return locked


def live_result(dossier: Dossier) -> dict[str, Any]:
    """The live findings with the current pieces: a complement is read on the first filing date (D-COMPLEMENT),
    a draft on today's."""
    on = dossier.filed_at.date() if dossier.filed_at else clock.today()
    return evaluate(dossier.grappe, on, piece_codes(dossier), dossier)


# ---------------------------------------------------------------------------------------------------------------
# The « Pièces » part of the dossier's page.


@dataclass
class PieceRow:
    """A piece as the page lists it: its last version, the versions it replaced (newest first), its type's label,
    and whether the user may replace or remove it now."""

    piece: Piece
    label: str
    previous: list[Piece]
    may_change: bool = False


@dataclass
class ChecklistItem:
    code: str
    label: str
    rule: str
    source: str
    ticked: bool
    step: str
    open: bool


def _rows(versions: list[Piece], catalogue: Catalogue) -> tuple[list[PieceRow], list[PieceRow]]:
    """From every version of the dossier's pieces: the current ones and the removed ones, each with its previous
    versions (read from `replaces`, with no further query)."""
    by_id = {p.pk: p for p in versions}
    replaced = {p.replaces_id for p in versions if p.replaces_id}
    current, removed = [], []
    for piece in versions:
        if piece.pk in replaced:
            continue
        previous, older = [], piece.replaces_id
        while older in by_id:
            previous.append(by_id[older])
            older = by_id[older].replaces_id
        row = PieceRow(piece, catalogue.label(piece.code), previous)
        (removed if piece.removed_at else current).append(row)
    return current, removed


def checklist(dossier: Dossier, current_codes: set[str], catalogue: Catalogue) -> list[ChecklistItem]:
    """The pieces expected of the dossier in its state: the filing pieces E-PIECES computed (the live result's
    `required_pieces`), then the post-decision pieces the dossier has reached and is asked for, each ticked when a
    current version is joined."""
    result = dossier.result or {}
    said = next((f["source"] for f in result.get("findings", []) if f.get("rule") == "E-PIECES"), "")
    state = State(dossier.state)
    items = [
        ChecklistItem(
            code,
            catalogue.label(code),
            "E-PIECES",
            catalogue.filing_sources.get(code, said),
            code in current_codes,
            "Dépôt",
            state in EDITABLE,
        )
        for code in result.get("required_pieces", [])
    ]
    if state not in AFTER_DECISION_PATH:
        return items
    for kind in catalogue.after_decision.values():
        if AFTER_DECISION_PATH.index(state) >= AFTER_DECISION_PATH.index(kind.opens) and kind.asked_of(dossier):
            refusal = change_refusal(dossier, kind.code, catalogue)
            items.append(
                ChecklistItem(
                    kind.code,
                    kind.label,
                    kind.rule,
                    kind.source,
                    kind.code in current_codes,
                    f"À partir de « {kind.opens.label} »",
                    refusal is None,
                )
            )
    return items


def pieces_context(dossier: Dossier, user) -> dict[str, Any]:
    """What the « Pièces » part of the dossier's page shows: current pieces with their previous versions, removed
    ones, the checklist of expected pieces and the types the porteur may join now (one query for the pieces)."""
    catalogue = Catalogue.of(dossier.campaign)
    versions = list(Piece.versions.filter(dossier=dossier).select_related("removed_by").order_by("code", "-id"))
    current, removed = _rows(versions, catalogue)
    porteur = is_porteur_of(user, dossier)
    refusals = {code: change_refusal(dossier, code, catalogue) for code, _ in catalogue.choices()}
    for row in current:
        row.may_change = porteur and refusals.get(row.piece.code, "") is None
    return {
        "pieces_current": current,
        "pieces_removed": removed,
        "pieces_checklist": checklist(dossier, {row.piece.code for row in current}, catalogue),
        "pieces_addable": [(code, label) for code, label in catalogue.choices() if porteur and refusals[code] is None],
    }
