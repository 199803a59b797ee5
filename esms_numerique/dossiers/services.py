"""The only place that changes dossiers: creation, grappe edits, transitions, messages, amount versions.
Every change is checked against access.py, written with optimistic locking, logged and audited. Amounts and
payments: docs/decisions.md, D-DOSSIER-PAYMENTS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from esms_numerique import clock
from esms_numerique.audit.services import record
from esms_numerique.indicators.services import final_status
from esms_numerique.locking import update_if_unchanged
from esms_numerique.registry.models import LegalEntity
from esms_numerique.registry.simulation import simulate_with_registry
from esms_numerique.rules.context import CampaignContext
from esms_numerique.rules.errors import InputError
from esms_numerique.rules.money import share_eur
from esms_numerique.sons.services import sons_facts

from .access import acting_role, can_see, profile_of
from .enums import Role, State
from .fundings import platform_fundings
from .models import AmountVersion, Dossier, Message, Piece, TransitionLog
from .pieces import PieceError, check_upload, digest, piece_types
from .workflow import BY_NAME, DECIDED, EDITABLE


class DossierError(Exception):
    """A change the rules refuse; the message is French and says why."""


class StaleDossier(DossierError):
    pass


def _with_sons_facts(essms: list[Any]) -> list[Any]:
    """The platform's own SONS orders for these ESSMS (ordered, VA date) complete what the porteur declares."""
    wanted = {str(e.get("finess_et", "")).strip().upper() for e in essms if isinstance(e, dict)}
    facts = sons_facts(wanted) if wanted else {}
    completed = []
    for entry in essms:
        fact = facts.get(str(entry.get("finess_et", "")).strip().upper()) if isinstance(entry, dict) else None
        if fact:
            entry = {
                **entry,
                "sons_order": True,
                "sons_va_date": entry.get("sons_va_date")
                or (fact["sons_va_date"] and fact["sons_va_date"].isoformat()),
            }
        completed.append(entry)
    return completed


def evaluate(
    grappe: dict[str, Any], on: dt.date, pieces: list[str] | None = None, dossier: Dossier | None = None
) -> dict[str, Any]:
    """Runs the rules core on the grappe as if filed on `on`, with the pieces joined so far (E-PIECES) and the
    fundings the platform already decided (E-NO-DOUBLE); an incomplete grappe gives its errors."""
    data = {**grappe, "filed_on": on.isoformat()}
    data["essms"] = _with_sons_facts(grappe.get("essms", []))
    wanted = {str(e.get("finess_et", "")).strip().upper() for e in grappe.get("essms", []) if isinstance(e, dict)}
    known = platform_fundings(wanted, exclude=dossier)
    if known:
        data["previous_fundings"] = [*grappe.get("previous_fundings", []), *known]
    if pieces is not None:
        data["pieces"] = pieces
    try:
        result = simulate_with_registry(data)
    except InputError as error:
        return {"errors": error.messages, "findings": []}
    return result.as_dict()


def _next_reference(campaign: str) -> str:
    count = Dossier.objects.filter(campaign=campaign).count() + 1
    while True:
        reference = f"ESMS-{campaign}-{count:05d}"
        if not Dossier.objects.filter(reference=reference).exists():
            return reference
        count += 1


def audit_dossier(user, action: str, dossier: Dossier, before: Any = None, after: Any = None, reason: str = "") -> None:
    record(user.get_username(), action, "Dossier", dossier.reference, before=before, after=after, reason=reason)


def create_dossier(user, title: str, campaign: str, grappe: dict[str, Any]) -> Dossier:
    profile = profile_of(user)
    if profile is None or profile.role != Role.PORTEUR or profile.legal_entity_id is None:
        raise PermissionDenied("Seul un porteur rattaché à un organisme gestionnaire crée un dossier.")
    grappe = {**grappe, "campaign": campaign}
    result = evaluate(grappe, clock.today())
    with transaction.atomic():
        dossier = Dossier.objects.create(
            reference=_next_reference(campaign),
            title=title.strip(),
            campaign=campaign,
            porteur=profile.legal_entity,
            created_by=user,
            grappe=grappe,
            result=result,
            desk=result.get("desk") or "",
            pivot_region=result.get("pivot_region") or "",
        )
        _set_members(dossier, grappe)
        audit_dossier(user, "create_dossier", dossier, after={"titre": dossier.title, "campagne": campaign})
    return dossier


def _locked_update(dossier: Dossier, expected_version: int, **changes: Any) -> Dossier:
    """Writes `changes` only if nobody changed the dossier since `expected_version` was read."""
    if not update_if_unchanged(dossier, expected_version, **changes):
        raise StaleDossier(
            "Le dossier a été modifié par quelqu'un d'autre depuis que vous l'avez ouvert : rechargez la page, "
            "vos changements n'ont pas été enregistrés."
        )
    return dossier


def update_grappe(user, dossier: Dossier, expected_version: int, title: str, grappe: dict[str, Any]) -> Dossier:
    if acting_role(user, dossier) != Role.PORTEUR:
        raise PermissionDenied("Seul le porteur du dossier modifie sa grappe.")
    if dossier.state not in EDITABLE:
        raise DossierError(f"Le dossier est « {dossier.state_label} » : la grappe ne se modifie plus.")
    grappe = {**grappe, "campaign": dossier.campaign}
    result = evaluate(grappe, clock.today(), _piece_codes(dossier), dossier)
    with transaction.atomic():
        before = {"titre": dossier.title, "grappe": dossier.grappe, "total_eur": dossier.result.get("total_eur")}
        dossier = _locked_update(
            dossier,
            expected_version,
            title=title.strip(),
            grappe=grappe,
            result=result,
            desk=result.get("desk") or "",
            pivot_region=result.get("pivot_region") or "",
        )
        audit_dossier(
            user,
            "update_grappe",
            dossier,
            before=before,
            after={"titre": dossier.title, "grappe": grappe, "total_eur": result.get("total_eur")},
        )
    return dossier


def _guard(dossier: Dossier, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Checks what the transition needs and returns the fields it sets."""
    today = clock.today()
    if name in ("deposer", "completer"):
        result = evaluate(dossier.grappe, today, _piece_codes(dossier), dossier)
        if result.get("errors"):
            raise DossierError("La grappe est incomplète : " + " ; ".join(result["errors"]))
        blocking = [f for f in result["findings"] if f["verdict"] == "bloquant"]
        if blocking:
            rules = ", ".join(sorted({f["rule"] for f in blocking}))
            raise DossierError(f"Dépôt impossible tant que des constats sont bloquants ({rules}).")
        return {
            "result": result,
            "filed_result": result,
            "filed_at": clock.now(),
            "desk": result["desk"],
            "pivot_region": result["pivot_region"],
        }
    if name == "retenir":
        return {"engaged_eur": dossier.filed_result["total_eur"]}
    if name == "signer_convention":
        return {"convention_signed_on": data.get("date") or today}
    if name == "verser_avance":
        return {"advance_paid_eur": _advance(dossier), "advance_paid_on": data.get("date") or today}
    if name == "demarrer_deploiement":
        return {"deployment_started_on": data.get("date") or today}
    if name == "enregistrer_cibles":
        status = final_status(dossier)
        if not status["all_met"]:
            if status["date"] is None:
                raise DossierError(
                    "Aucune mesure d'usage déposée : le porteur dépose le résultat du calcul des "
                    "indicateurs (esms indicateurs calculer)."
                )
            details = [f"{f} sans mesure" for f in status["missing"]] + [
                f"{f} : {', '.join(rules)}" for f, rules in status["unmet"].items()
            ]
            raise DossierError(
                f"Cibles non atteintes à la mesure du {status['date']:%d/%m/%Y} : " + " ; ".join(details) + "."
            )
        return {"targets_met_on": status["date"]}
    if name == "verser_solde":
        if not dossier.targets_met_on:
            raise DossierError("Le solde suppose les cibles d'usage atteintes (U-*) : enregistrez-les d'abord.")
        if not data.get("expenses_statement"):
            raise DossierError(
                "Le solde suppose l'état récapitulatif des dépenses visé par le comptable public ou "
                "le commissaire aux comptes (F-PAY)."
            )
        return {
            "expenses_statement": True,
            "balance_paid_eur": dossier.engaged_eur - (dossier.advance_paid_eur or 0),
            "balance_paid_on": data.get("date") or today,
        }
    return {}


def _campaign(dossier: Dossier, on: dt.date) -> CampaignContext:
    return CampaignContext(dossier.campaign, on)


def _advance(dossier: Dossier) -> int:
    """F-PAY: the campaign's advance share of the amount engaged."""
    share = _campaign(dossier, dossier.filed_at.date()).get("payment.advance_share")
    return share_eur(dossier.engaged_eur, share.value)


def apply_transition(
    user,
    dossier: Dossier,
    name: str,
    expected_version: int,
    comment: str = "",
    data: dict[str, Any] | None = None,
    from_committee: bool = False,
) -> Dossier:
    transition = BY_NAME.get(name)
    if transition is None:
        raise DossierError(f"Action inconnue « {name} ».")
    if not can_see(user, dossier) or acting_role(user, dossier) not in transition.roles:
        raise PermissionDenied(f"Vous ne pouvez pas « {transition.label.lower()} » sur ce dossier.")
    if dossier.state not in transition.sources:
        raise DossierError(f"« {transition.label} » est impossible quand le dossier est « {dossier.state_label} ».")
    if transition.committee_only and not from_committee:
        raise DossierError(f"« {transition.label} » se fait depuis l'ordre du jour d'un comité de sélection.")
    if transition.needs_comment and not comment.strip():
        raise DossierError(f"« {transition.label} » demande un commentaire pour le porteur.")
    changes = _guard(dossier, name, data or {})
    with transaction.atomic():
        before = dossier.state
        dossier = _locked_update(dossier, expected_version, state=transition.target, **changes)
        TransitionLog.objects.create(
            dossier=dossier,
            actor=user,
            transition=name,
            from_state=before,
            to_state=transition.target,
            comment=comment.strip(),
        )
        if name == "retenir":
            AmountVersion.objects.create(
                dossier=dossier, number=1, amount_eur=dossier.engaged_eur, actor=user, reason=comment.strip()
            )
        if comment.strip() and transition.needs_comment:
            Message.objects.create(dossier=dossier, author=user, body=f"{transition.label} : {comment.strip()}")
        audit_dossier(
            user,
            f"transition:{name}",
            dossier,
            before={"état": before},
            after={
                "état": transition.target,
                **{k: str(v) for k, v in changes.items() if k not in ("result", "filed_result")},
            },
            reason=comment,
        )
    return dossier


def revise_amount(user, dossier: Dossier, expected_version: int, amount_eur: int, reason: str) -> Dossier:
    """A decided amount is never edited: a new version is added, with its reason."""
    if acting_role(user, dossier) not in (Role.ARS, Role.NATIONAL):
        raise PermissionDenied("Seuls les instructeurs du dossier révisent le montant engagé.")
    if dossier.state not in DECIDED or dossier.state == State.CLOS:
        raise DossierError("Le montant ne se révise qu'entre la décision et la clôture.")
    if not reason.strip():
        raise DossierError("Un motif est obligatoire pour réviser le montant engagé.")
    if amount_eur < 0:
        raise DossierError("Le montant engagé ne peut pas être négatif.")
    with transaction.atomic():
        before = dossier.engaged_eur
        dossier = _locked_update(dossier, expected_version, engaged_eur=amount_eur)
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
    if private and acting_role(user, dossier) not in (Role.ARS, Role.NATIONAL):
        raise PermissionDenied("Les annotations privées sont réservées aux instructeurs du dossier.")
    if not private and acting_role(user, dossier) is None:
        raise PermissionDenied("Seuls le porteur et les instructeurs du dossier écrivent dans le fil.")
    if not body.strip():
        raise DossierError("Le message est vide.")
    return Message.objects.create(dossier=dossier, author=user, body=body.strip(), private=private)


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
    return {"months": months, "due": due, "overdue": dossier.targets_met_on is None and clock.today() > due}


def _piece_codes(dossier: Dossier) -> list[str]:
    return sorted(set(dossier.pieces.values_list("code", flat=True)))


def add_piece(user, dossier: Dossier, code: str, upload) -> Piece:
    """Joins a piece while the porteur may still change the dossier; the live findings are re-run."""
    if acting_role(user, dossier) != Role.PORTEUR:
        raise PermissionDenied("Seul le porteur du dossier joint des pièces.")
    if dossier.state not in EDITABLE:
        raise DossierError(f"Le dossier est « {dossier.state_label} » : les pièces ne se modifient plus.")
    if code not in dict(piece_types(dossier.campaign)):
        raise DossierError(f"Type de pièce inconnu « {code} ».")
    head = upload.read(8)
    upload.seek(0)
    try:
        check_upload(upload.name, head, upload.size)
    except PieceError as error:
        raise DossierError(str(error)) from None
    sha = digest(upload.chunks())
    upload.seek(0)
    with transaction.atomic():
        piece = Piece(
            dossier=dossier, code=code, original_name=upload.name[:255], size=upload.size, sha256=sha, uploaded_by=user
        )
        piece.file.save(f"{dossier.reference}-{code}-{sha[:12]}", upload, save=False)
        piece.save()
        result = evaluate(dossier.grappe, clock.today(), _piece_codes(dossier), dossier)
        Dossier.objects.filter(pk=dossier.pk).update(result=result)
        audit_dossier(user, "add_piece", dossier, after={"pièce": code, "fichier": piece.original_name, "sha256": sha})
    return piece


def _set_members(dossier: Dossier, grappe: dict[str, Any]) -> None:
    """The member OGs named in the grappe see the dossier (read only)."""
    numbers = [n for n in grappe.get("members", []) if n != dossier.porteur.finess_ej]
    dossier.members.set(LegalEntity.objects.filter(finess_ej__in=numbers))
