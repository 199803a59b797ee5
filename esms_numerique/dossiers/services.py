"""The only place that changes dossiers: creation, grappe edits, transitions, messages, amount versions.
Every change is checked against access.py, written with optimistic locking, logged and audited. Amounts and
payments: docs/decisions.md, D-DOSSIER-PAYMENTS."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F

from esms_numerique import clock
from esms_numerique.accounts.access import access_of
from esms_numerique.accounts.enums import Role
from esms_numerique.audit.services import record
from esms_numerique.registry.models import LegalEntity
from esms_numerique.rules.context import CampaignContext
from esms_numerique.workflow.engine import MAX_AMOUNT_EUR, check_allowed, fire, next_number

from .access import acting_role, can_see, is_instructor_of, is_porteur_of
from .enums import State
from .evaluation import evaluate, piece_codes, record_ledger
from .listing import refresh_list_columns
from .models import AmountVersion, Dossier, Message, Piece
from .pieces import (
    PieceError,
    change_refusal,
    checked_upload,
    is_filing_piece,
    live_result,
    locked_current_piece,
    stored_piece,
)
from .workflow import DECIDED, EDITABLE, WORKFLOW, DossierError, StaleDossier

__all__ = ["DossierError", "StaleDossier", "evaluate"]
DECIDED_OPEN = DECIDED - {State.CLOS}


def _next_reference(campaign: str) -> str:
    return f"ESMS-{campaign}-{next_number(f'ESMS-{campaign}'):05d}"


def audit_dossier(user, action: str, dossier: Dossier, before: Any = None, after: Any = None, reason: str = "") -> None:
    record(user.get_username(), action, "Dossier", dossier.reference, before=before, after=after, reason=reason)


def create_dossier(user, title: str, campaign: str, grappe: dict[str, Any]) -> Dossier:
    access = access_of(user)
    if not access.may_create_dossier:
        raise PermissionDenied("Seul un porteur rattaché à un organisme gestionnaire crée un dossier.")
    grappe = {**grappe, "campaign": campaign}
    result = evaluate(grappe, clock.today())
    with transaction.atomic():
        dossier = Dossier.objects.create(
            reference=_next_reference(campaign),
            title=title.strip(),
            campaign=campaign,
            porteur_id=access.og_id,
            created_by=user,
            grappe=grappe,
            result=result,
            desk=result.get("desk") or "",
            pivot_region=result.get("pivot_region") or "",
        )
        _set_members(dossier, grappe)
        record_ledger(dossier)
        refresh_list_columns(dossier)
        audit_dossier(user, "create_dossier", dossier, after={"titre": dossier.title, "campagne": campaign})
    return dossier


def _locked(dossier: Dossier, expected_version: int) -> Dossier:
    """The dossier's row, locked until the end of the transaction, if nobody changed it since
    `expected_version` was read."""
    locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if locked.version != expected_version:
        raise StaleDossier(WORKFLOW.stale_message)
    return locked


def _write(dossier: Dossier, **changes: Any) -> Dossier:
    Dossier.objects.filter(pk=dossier.pk).update(version=F("version") + 1, **changes)
    refresh_list_columns(dossier)
    dossier.refresh_from_db()
    return dossier


def update_grappe(user, dossier: Dossier, expected_version: int, title: str, grappe: dict[str, Any]) -> Dossier:
    if acting_role(user, dossier) != Role.PORTEUR:
        raise PermissionDenied("Seul le porteur du dossier modifie sa grappe.")
    grappe = {**grappe, "campaign": dossier.campaign}
    with transaction.atomic():
        locked = _locked(dossier, expected_version)
        if locked.state not in EDITABLE:
            raise DossierError(f"Le dossier est « {locked.state_label} » : la grappe ne se modifie plus.")
        # A complement is read on the first filing date (D-COMPLEMENT); a draft on today's.
        on = locked.filed_at.date() if locked.filed_at else clock.today()
        result = evaluate(grappe, on, piece_codes(locked), locked)
        before = {"titre": locked.title, "grappe": locked.grappe, "total_eur": locked.result.get("total_eur")}
        dossier = _write(
            locked,
            title=title.strip(),
            grappe=grappe,
            result=result,
            desk=result.get("desk") or "",
            pivot_region=result.get("pivot_region") or "",
        )
        record_ledger(dossier)
        audit_dossier(
            user,
            "update_grappe",
            dossier,
            before=before,
            after={"titre": dossier.title, "grappe": grappe, "total_eur": result.get("total_eur")},
        )
    return dossier


def _campaign(dossier: Dossier, on: dt.date) -> CampaignContext:
    return CampaignContext(dossier.campaign, on)


def apply_transition(
    user,
    dossier: Dossier,
    name: str,
    expected_version: int,
    comment: str = "",
    data: dict[str, Any] | None = None,
    from_committee: bool = False,
    via: str = "",
) -> Dossier:
    """Takes a transition of the dossier lifecycle (dossiers/workflow.py) with the inputs it declares; `via` says
    where a transition that is not taken from the dossier's page comes from (« comite », « paiement »)."""
    if not can_see(user, dossier):
        raise PermissionDenied("Vous ne voyez pas ce dossier.")
    via = "comite" if from_committee else via
    transition = check_allowed(WORKFLOW, dossier, name, acting_role(user, dossier), via)

    def after(changed: Dossier, step: str) -> None:
        record_ledger(changed)
        refresh_list_columns(changed)
        text = (comment or "").strip()
        if step == "retenir":
            AmountVersion.objects.create(
                dossier=changed, number=1, amount_eur=changed.engaged_eur, actor=user, reason=text
            )
        if text and transition.needs_comment:
            Message.objects.create(dossier=changed, author=user, body=f"{transition.label} : {text}")

    def audit(changed: Dossier, before: dict[str, Any], after_state: dict[str, Any]) -> None:
        audit_dossier(user, f"transition:{name}", changed, before=before, after=after_state, reason=comment)

    return fire(
        WORKFLOW, dossier, transition, user, expected_version, {**(data or {}), "comment": comment}, after, audit
    )


def revision_bounds(dossier: Dossier) -> tuple[int, int]:
    """D-REVISION: an engaged amount may go down to what has been paid, and up to what the rules computed for the
    retained grappe (more needs a new simulation of a changed grappe)."""
    paid = (dossier.advance_paid_eur or 0) + (dossier.balance_paid_eur or 0)
    ceiling = (dossier.filed_result or {}).get("total_eur") or 0
    return paid, max(ceiling, paid)


def revise_amount(user, dossier: Dossier, expected_version: int, amount_eur: int, reason: str) -> Dossier:
    """A decided amount is never edited: a new version is added, with its reason, within revision_bounds."""
    if not is_instructor_of(user, dossier):
        raise PermissionDenied("Seuls les instructeurs du dossier révisent le montant engagé.")
    if not reason.strip():
        raise DossierError("Un motif est obligatoire pour réviser le montant engagé.")
    if not isinstance(amount_eur, int) or not 0 <= amount_eur <= MAX_AMOUNT_EUR:
        raise DossierError("Montant engagé : un nombre entier d'euros, positif, est attendu.")
    with transaction.atomic():
        locked = _locked(dossier, expected_version)
        if locked.state not in DECIDED_OPEN:
            raise DossierError("Le montant ne se révise qu'entre la décision et la clôture.")
        floor, ceiling = revision_bounds(locked)
        if amount_eur < floor:
            raise DossierError(f"Montant engagé : {amount_eur} € est inférieur à ce qui a déjà été versé ({floor} €).")
        if amount_eur > ceiling:
            raise DossierError(
                f"Montant engagé : {amount_eur} € dépasse ce que les règles calculent pour la grappe retenue "
                f"({ceiling} €) ; au-delà, il faut une grappe modifiée et une nouvelle simulation."
            )
        before = locked.engaged_eur
        dossier = _write(locked, engaged_eur=amount_eur)
        number = dossier.amount_versions.count() + 1
        AmountVersion.objects.create(
            dossier=dossier, number=number, amount_eur=amount_eur, actor=user, reason=reason.strip()
        )
        audit_dossier(
            user, "revise_amount", dossier, before={"montant": before}, after={"montant": amount_eur}, reason=reason
        )
    return dossier


def post_message(user, dossier: Dossier, body: str, private: bool = False) -> Message:
    if not can_see(user, dossier):
        raise PermissionDenied("Vous ne voyez pas ce dossier.")
    if private and not is_instructor_of(user, dossier):
        raise PermissionDenied("Les annotations privées sont réservées aux instructeurs du dossier.")
    if not private and acting_role(user, dossier) is None:
        raise PermissionDenied("Seuls le porteur et les instructeurs du dossier écrivent dans le fil.")
    if not body.strip():
        raise DossierError("Le message est vide.")
    with transaction.atomic():
        message = Message.objects.create(dossier=dossier, author=user, body=body.strip(), private=private)
        # The log keeps the text's digest, not the text (D-AUDIT-KEY): it proves the message without copying it.
        trace = {"message": message.pk, "sha256": hashlib.sha256(message.body.encode("utf-8")).hexdigest()}
        audit_dossier(user, "post_annotation" if private else "post_message", dossier, after=trace)
    return message


def deadline(dossier: Dossier) -> dict[str, Any] | None:
    """F-PAY: indicative end of deployment, 9 months (upgrade) or 18 (acquisition) after the convention;
    none for national projects. Flagged when overdue and the targets are not met."""
    if not dossier.convention_signed_on or dossier.desk == "national" or not dossier.filed_result:
        return None
    acquisitions = any(e["operation"] == "acquisition" for e in dossier.filed_result.get("essms", []))
    start = dossier.convention_signed_on
    kind = "acquisition" if acquisitions else "upgrade"
    months = _campaign(dossier, start).get(f"payment.deployment_months_{kind}").value
    month = start.month - 1 + months
    due = dt.date(start.year + month // 12, month % 12 + 1, min(start.day, 28))
    extended = dossier.deadline_extended_to is not None and dossier.deadline_extended_to > due
    due = dossier.deadline_extended_to if extended else due
    return {"months": months, "due": due, "overdue": overdue(due, dossier.targets_met_on), "extended": extended}


def overdue(due: dt.date, targets_met_on: dt.date | None) -> bool:
    """F-PAY: the deployment's end is passed and the usage targets are not met."""
    return targets_met_on is None and clock.today() > due


def add_piece(user, dossier: Dossier, code: str, upload) -> Piece:
    """Joins a piece of a type the dossier's state opens (pieces.change_refusal); a filing piece re-runs the live
    findings (E-PIECES). DECISION D-PIECE-VERSIONS (docs/decisions.md)."""
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        if not is_porteur_of(user, locked):
            raise PermissionDenied("Seul le porteur du dossier joint des pièces.")
        try:
            sha = checked_upload(upload)
        except PieceError as error:
            raise DossierError(str(error)) from None
        refusal = change_refusal(locked, code)
        if refusal:
            raise DossierError(refusal)
        piece = stored_piece(locked, code, upload, sha, user)
        piece.save()
        if is_filing_piece(locked.campaign, code):
            Dossier.objects.filter(pk=locked.pk).update(result=live_result(locked))
        refresh_list_columns(locked)
        audit_dossier(user, "add_piece", locked, after={"pièce": code, "fichier": piece.original_name, "sha256": sha})
    return piece


def replace_piece(user, dossier: Dossier, piece: Piece, upload) -> Piece:
    """A new version of a current piece, while its type may change (pieces.change_refusal); the replaced file
    stays, as a previous version. DECISION D-PIECE-VERSIONS (docs/decisions.md)."""
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        if not is_porteur_of(user, locked):
            raise PermissionDenied("Seul le porteur du dossier remplace ses pièces.")
        try:
            sha = checked_upload(upload)
        except PieceError as error:
            raise DossierError(str(error)) from None
        old = locked_current_piece(locked, piece)
        refusal = change_refusal(locked, old.code)
        if refusal:
            raise DossierError(refusal)
        new = stored_piece(locked, old.code, upload, sha, user, replaces=old)
        new.save()
        if is_filing_piece(locked.campaign, old.code):
            Dossier.objects.filter(pk=locked.pk).update(result=live_result(locked))
        refresh_list_columns(locked)
        audit_dossier(
            user,
            "replace_piece",
            locked,
            before={"pièce": old.code, "fichier": old.original_name, "sha256": old.sha256},
            after={"pièce": new.code, "fichier": new.original_name, "sha256": sha},
        )
    return new


def remove_piece(user, dossier: Dossier, piece: Piece) -> Piece:
    """Withdraws a current piece while its type may change: marked removed, by whom and when, its file kept.
    DECISION D-PIECE-VERSIONS (docs/decisions.md)."""
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        if not is_porteur_of(user, locked):
            raise PermissionDenied("Seul le porteur du dossier retire ses pièces.")
        old = locked_current_piece(locked, piece)
        refusal = change_refusal(locked, old.code)
        if refusal:
            raise DossierError(refusal)
        old.removed_at, old.removed_by = clock.now(), user
        old.save(update_fields=["removed_at", "removed_by"])
        if is_filing_piece(locked.campaign, old.code):
            Dossier.objects.filter(pk=locked.pk).update(result=live_result(locked))
        refresh_list_columns(locked)
        audit_dossier(
            user, "remove_piece", locked, before={"pièce": old.code, "fichier": old.original_name, "sha256": old.sha256}
        )
    return old


def _set_members(dossier: Dossier, grappe: dict[str, Any]) -> None:
    """The member OGs named in the grappe see the dossier (read only)."""
    numbers = [n for n in grappe.get("members", []) if n != dossier.porteur.finess_ej]
    dossier.members.set(LegalEntity.objects.filter(finess_ej__in=numbers))
