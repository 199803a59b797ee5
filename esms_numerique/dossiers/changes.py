"""Changes after the decision (issue « after the decision »): an ESSMS withdrawn from a retained grappe (a new
version re-run through the rules core), the dossier transferred to another OG, the deployment deadline extended.
Each is the instructors' decision with a reason, checked and written in one transaction, audited
(docs/decisions.md, D-AFTER-DECISION)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal

from esms_numerique import clock
from esms_numerique.audit.services import record
from esms_numerique.registry.models import LegalEntity

from .access import is_instructor_of
from .enums import State
from .evaluation import evaluate, piece_codes, record_ledger
from .listing import refresh_list_columns
from .models import AmountVersion, Dossier, GrappeVersion, Message
from .payments import issue_recovery
from .transitions import no_double_funding
from .workflow import CHANGEABLE, WITH_DEADLINE, WORKFLOW, DossierError, StaleDossier

# Sent inside the transaction of a change of the retained grappe (`dossier` as written, `actor` a username): the
# instruction app rewrites the regions covered (instruction/apps.py), as it does on filing.
grappe_changed = Signal()


def _instructor(user, dossier: Dossier, what: str) -> None:
    if not is_instructor_of(user, dossier):
        raise PermissionDenied(f"Seuls les instructeurs du dossier {what}.")


def _locked(dossier: Dossier, expected_version: int) -> Dossier:
    locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if locked.version != expected_version:
        raise StaleDossier(WORKFLOW.stale_message)
    return locked


def _reason(reason: str) -> str:
    if not reason.strip():
        raise DossierError("Un motif est obligatoire.")
    return reason.strip()


def withdraw_essms(user, dossier: Dossier, expected_version: int, finess_et: str, reason: str) -> Dossier:
    """One ESSMS leaves the retained grappe: the grappe without it is re-run on the first filing date, becomes the
    frozen result (a new version, the old one kept), the amount engaged follows it down, the ledger frees the
    ESSMS, and what was paid beyond the new amount is owed back."""
    return _change_grappe(user, dossier, expected_version, finess_et, None, reason)


def replace_essms(user, dossier: Dossier, expected_version: int, finess_et: str, by: str, reason: str) -> Dossier:
    """An ESSMS of the grappe is replaced by another ESSMS of the same OG (it closed, merged…): a new version re-run
    by the rules; the newcomer must be funded nowhere else (E-NO-DOUBLE, the ledger) and the amount engaged never
    rises (D-AFTER-DECISION)."""
    return _change_grappe(user, dossier, expected_version, finess_et, by, reason)


def join_essms(
    user, dossier: Dossier, expected_version: int, finess_et: str, agreement: bool, timetable: str, reason: str
) -> Dossier:
    """E-JOIN (AAP24 3.2.D): an isolated ESSMS joins a funded grappe with the porteur's agreement and a timetable
    consistent with the project's: a new version re-run by the rules, which fund it — the amount engaged rises to
    the new total (a new version of the amount), the ledger holds it (E-NO-DOUBLE)."""
    if not agreement:
        raise DossierError("E-JOIN : l'accord du porteur est requis pour qu'un ESSMS rejoigne la grappe.")
    if not timetable.strip():
        raise DossierError("E-JOIN : indiquez le calendrier de déploiement de l'ESSMS, cohérent avec celui du projet.")
    return _change_grappe(user, dossier, expected_version, "", finess_et, f"{reason.strip()} — {timetable.strip()}")


def _replacement(leaving: str, by: str) -> dict[str, Any]:
    from esms_numerique.registry.models import Establishment

    owners = dict(Establishment.objects.filter(finess_et__in=[leaving, by]).values_list("finess_et", "legal_entity_id"))
    if by not in owners:
        raise DossierError(f"L'ESSMS {by} est inconnu du répertoire FINESS.")
    if owners.get(leaving) != owners[by]:
        raise DossierError(f"L'ESSMS {by} n'est pas géré par le même OG que l'ESSMS {leaving} qu'il remplace.")
    return {"finess_et": by}


def _change_grappe(
    user, dossier: Dossier, expected_version: int, finess_et: str, by: str | None, reason: str
) -> Dossier:
    _instructor(user, dossier, "modifient la grappe retenue")
    reason = _reason(reason)
    finess_et = finess_et.strip().upper()
    by = by.strip().upper() if by else None
    joining = by is not None and not finess_et
    if joining:
        change = f"Arrivée de l'ESSMS {by} (E-JOIN)"
    else:
        change = f"Remplacement de l'ESSMS {finess_et} par {by}" if by else f"Retrait de l'ESSMS {finess_et}"
    with transaction.atomic():
        locked = _locked(dossier, expected_version)
        if locked.state not in CHANGEABLE:
            raise DossierError(f"Le dossier est « {locked.state_label} » : sa grappe ne change plus.")
        essms = locked.grappe.get("essms", [])
        kept = [e for e in essms if str(e.get("finess_et", "")).strip().upper() != finess_et]
        if len(kept) == len(essms) and not joining:
            raise DossierError(f"L'ESSMS {finess_et} n'est pas dans la grappe du dossier.")
        if by:
            if any(str(e.get("finess_et", "")).strip().upper() == by for e in essms):
                raise DossierError(f"L'ESSMS {by} est déjà dans la grappe.")
            kept.append({"finess_et": by} if joining else _replacement(finess_et, by))
        if not kept:
            raise DossierError("La grappe ne peut pas perdre son dernier ESSMS : le porteur se désiste.")
        grappe = {**locked.grappe, "essms": kept}
        result = evaluate(grappe, locked.filed_at.date(), piece_codes(locked), locked)
        if result.get("errors"):
            raise DossierError("La grappe modifiée est incomplète : " + " ; ".join(result["errors"]))
        blocking = [f for f in result["findings"] if f["verdict"] == "bloquant" and f.get("finess_et") == by]
        if by and blocking:
            raise DossierError(f"L'ESSMS {by} ne peut pas rejoindre la grappe : " + blocking[0]["message"])
        if locked.grappe_versions.count() == 0:
            GrappeVersion.objects.create(
                dossier=locked,
                number=1,
                grappe=locked.grappe,
                result=locked.filed_result,
                change="Grappe retenue",
                reason="",
                actor=user,
            )
        before = locked.engaged_eur or 0
        # A withdrawal or a replacement never raises the amount; a newcomer (E-JOIN) is funded by the new total.
        engaged = result["total_eur"] if joining else min(before, result["total_eur"])
        GrappeVersion.objects.create(
            dossier=locked,
            number=locked.grappe_versions.count() + 1,
            grappe=grappe,
            result=result,
            change=change,
            reason=reason,
            actor=user,
        )
        Dossier.objects.filter(pk=locked.pk).update(
            grappe=grappe, result=result, filed_result=result, engaged_eur=engaged, version=F("version") + 1
        )
        refresh_list_columns(locked)
        locked.refresh_from_db()
        AmountVersion.objects.create(
            dossier=locked,
            number=locked.amount_versions.count() + 1,
            amount_eur=engaged,
            actor=user,
            reason=f"{change} : {reason}",
        )
        if by:
            # The newcomer is locked and checked against the ledger before this dossier holds it (E-NO-DOUBLE).
            no_double_funding(locked, {})
        record_ledger(locked)
        issue_recovery(locked, engaged, f"{change} : {reason}", user.get_username())
        Message.objects.create(dossier=locked, author=user, body=f"{change} : {reason}")
        record(
            user.get_username(),
            "change_grappe",
            "Dossier",
            locked.reference,
            before={"montant": before, "essms": len(essms)},
            after={"montant": engaged, "essms": len(kept), "changement": change},
            reason=reason,
        )
        # After the audit entry, whose lock serialises the writers: the receivers (regions covered, the follow-up's
        # summary) read every committed change, such as measurements uploaded at the same time.
        grappe_changed.send(sender=Dossier, dossier=locked, actor=user.get_username())
    return locked


def transfer(user, dossier: Dossier, expected_version: int, finess_ej: str, reason: str) -> Dossier:
    """The dossier passes to another OG (merger, take-over, FINESS EJ change): the new porteur acts from now on, the
    history stays with the dossier."""
    _instructor(user, dossier, "transfèrent le dossier")
    reason = _reason(reason)
    target = LegalEntity.objects.filter(finess_ej=finess_ej.strip()).first()
    if target is None:
        raise DossierError(f"FINESS EJ {finess_ej} inconnu du répertoire.")
    with transaction.atomic():
        locked = _locked(dossier, expected_version)
        if locked.state == State.CLOS:
            raise DossierError("Un dossier clos ne se transfère plus.")
        if target.pk == locked.porteur_id:
            raise DossierError("Le dossier est déjà porté par cet OG.")
        before = locked.porteur.finess_ej
        grappe = {**locked.grappe, "porteur": {**locked.grappe.get("porteur", {}), "finess_ej": target.finess_ej}}
        Dossier.objects.filter(pk=locked.pk).update(porteur=target, grappe=grappe, version=F("version") + 1)
        refresh_list_columns(locked)
        locked.refresh_from_db()
        locked.members.remove(target)
        Message.objects.create(
            dossier=locked,
            author=user,
            body=f"Dossier transféré de l'OG {before} à l'OG {target.finess_ej} : {reason}",
        )
        record(
            user.get_username(),
            "transfer_dossier",
            "Dossier",
            locked.reference,
            before={"porteur": before},
            after={"porteur": target.finess_ej},
            reason=reason,
        )
    return locked


def extend_deadline(user, dossier: Dossier, expected_version: int, until: dt.date, reason: str) -> Dossier:
    """FAQN Q32: the indicative deployment duration may be revised by the ARS."""
    from .services import deadline

    _instructor(user, dossier, "prolongent l'échéance")
    reason = _reason(reason)
    with transaction.atomic():
        locked = _locked(dossier, expected_version)
        current = deadline(locked)
        if current is None:
            raise DossierError("Ce dossier n'a pas d'échéance de déploiement (convention non signée, ou national).")
        if until <= current["due"]:
            raise DossierError(f"La nouvelle échéance doit suivre l'actuelle ({current['due']:%d/%m/%Y}).")
        Dossier.objects.filter(pk=locked.pk).update(deadline_extended_to=until, version=F("version") + 1)
        refresh_list_columns(locked)
        locked.refresh_from_db()
        record(
            user.get_username(),
            "extend_deadline",
            "Dossier",
            locked.reference,
            before={"échéance": current["due"].isoformat()},
            after={"échéance": until.isoformat()},
            reason=reason,
        )
    return locked


def next_deadline(dossier: Dossier) -> dict[str, Any] | None:
    """The dossier's next deadline: the commitment before 31/12 of the campaign year for a retained dossier (FAQN
    Q22 ; DECISION D-COMMITMENT (docs/decisions.md)), then the deployment end (F-PAY, FAQN Q32). `soon`: within
    the follow-up's warning delay."""
    from esms_numerique.rules.context import CampaignContext
    from esms_numerique.rules.parameters import default_tree

    from .services import deadline

    if dossier.state not in WITH_DEADLINE:
        return None
    today = clock.today()
    warning = default_tree().get("follow_up.deadline_soon_days").in_force(today).value
    if dossier.state == State.RETENU and dossier.filed_at:
        due = CampaignContext(dossier.campaign, dossier.filed_at.date()).get("payment.commitment_deadline").value
        label = "engagement financier (FAQN Q22)"
    else:
        found = deadline(dossier)
        if found is None:
            return None
        due, label = found["due"], "fin de déploiement (F-PAY)"
    return {
        "label": label,
        "due": due,
        "overdue": today > due,
        "soon": today <= due <= today + dt.timedelta(days=warning),
    }
