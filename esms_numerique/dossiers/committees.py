"""Selection committees: an agenda of dossiers under instruction, and decisions with their reasons.
Putting a dossier on the agenda and deciding on it are the workflow's own transitions."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from esms_numerique import clock
from esms_numerique.accounts.access import access_of
from esms_numerique.audit.services import record

from .access import national_desk, regional_desk, visible_dossiers
from .enums import State
from .models import Committee, CommitteeItem, Dossier
from .services import DossierError, apply_transition, audit_dossier


def committee_scope(user) -> str | None:
    """The region an ARS instructor's committees sit for, "" for CNSA/DNS, None for anyone else."""
    return access_of(user).committee_region


def visible_committees(user) -> QuerySet[Committee]:
    access = access_of(user)
    if access.is_admin:
        return Committee.objects.all()
    if access.committee_region is None:
        return Committee.objects.none()
    return Committee.objects.filter(region=access.committee_region)


def create_committee(user, label: str, date: dt.date, cutoff_date: dt.date) -> Committee:
    scope = committee_scope(user)
    if scope is None:
        raise PermissionDenied("Seuls les instructeurs réunissent un comité.")
    if cutoff_date > date:
        raise DossierError("La date limite de dépôt doit précéder la date du comité.")
    with transaction.atomic():
        committee = Committee.objects.create(
            region=scope, date=date, cutoff_date=cutoff_date, label=label.strip(), created_by=user
        )
        _audit_committee(user, "create_committee", committee)
    return committee


def _audit_committee(user, action: str, committee: Committee, **after) -> None:
    record(
        user.get_username(),
        action,
        "Committee",
        str(committee.pk),
        after={"comité": committee.label, "date": committee.date.isoformat(), **after},
    )


def eligible_dossiers(user, committee: Committee) -> QuerySet[Dossier]:
    """Dossiers under instruction in the committee's scope, filed by its cut-off date, not yet on an agenda."""
    dossiers = visible_dossiers(user).filter(state=State.EN_INSTRUCTION, filed_at__date__lte=committee.cutoff_date)
    # A dossier the pivot ARS handed over goes to the national committee; its desk of filing is unchanged
    # (AAP24 §7 nota; DECISION D-HAND-OVER).
    dossiers = dossiers.filter(regional_desk(committee.region) if committee.region else national_desk())
    return dossiers.exclude(committee_items__committee=committee)


def add_to_agenda(user, committee: Committee, dossier: Dossier) -> CommitteeItem:
    if not visible_committees(user).filter(pk=committee.pk).exists():
        raise PermissionDenied("Ce comité n'est pas le vôtre.")
    if not eligible_dossiers(user, committee).filter(pk=dossier.pk).exists():
        raise DossierError(
            f"{dossier.reference} ne peut pas être inscrit à ce comité (état, guichet, région ou date de dépôt)."
        )
    with transaction.atomic():
        apply_transition(
            user,
            dossier,
            "inscrire_comite",
            dossier.version,
            f"Inscrit au comité « {committee.label} » du {committee.date:%d/%m/%Y}.",
            from_committee=True,
        )
        return CommitteeItem.objects.create(committee=committee, dossier=dossier)


def decide(user, item: CommitteeItem, decision: str, reason: str, override_reason: str = "") -> CommitteeItem:
    """The committee's decision on one item, with its reason. It records the selection proposal it followed, or
    the departure from it with `override_reason` (required then; selection.services.link_decision)."""
    from esms_numerique.selection.services import SelectionError, link_decision

    if not visible_committees(user).filter(pk=item.committee_id).exists():
        raise PermissionDenied("Ce comité n'est pas le vôtre.")
    if item.decision:
        raise DossierError("La décision est déjà prise ; elle ne se modifie pas.")
    transition = {CommitteeItem.Decision.RETAINED: "retenir", CommitteeItem.Decision.REJECTED: "ne_pas_retenir"}.get(
        decision
    )
    if transition is None:
        raise DossierError("Décision inconnue.")
    if not reason.strip():
        raise DossierError("La décision doit être motivée.")
    with transaction.atomic():
        dossier = item.dossier
        try:
            link = link_decision(user, item, decision, override_reason)
        except SelectionError as error:
            raise DossierError(str(error)) from None
        apply_transition(user, dossier, transition, dossier.version, reason, from_committee=True)
        item.decision, item.reason, item.decided_at = decision, reason.strip(), clock.now()
        item.save()
        after = {"comité": item.committee.label, "décision": decision}
        if link.proposal_id:
            after |= {"proposition": link.proposal_id, "conforme à la proposition": link.followed}
            if link.override_id:
                after["écart motivé"] = link.override.reason
        audit_dossier(user, "committee_decision", dossier, after=after, reason=reason)
    return item
