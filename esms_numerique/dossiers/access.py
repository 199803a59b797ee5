"""Which dossiers a scope sees and under which role it acts on one — asked by every page, endpoint, export and
chart, from the user's scope read once (accounts/access.py; docs/decisions.md, D-DOSSIER-ROLES, D-ACCESS)."""

from __future__ import annotations

import functools

from django.db.models import Q, QuerySet

from esms_numerique.accounts.access import Access, access_of
from esms_numerique.accounts.enums import Role

from .enums import State
from .models import Dossier
from .workflow import Transition, transitions_from


def visible_dossiers(user) -> QuerySet[Dossier]:
    """An OG sees its own dossiers (as porteur or member), drafts included; an ARS and a GRADeS the filed dossiers
    of their region, as pivot or as the region of some of a multiregional dossier's ESSMS; the national instructors
    and administrators every filed dossier; an expert the dossiers they are asked about; anyone else nothing.
    A draft is the porteur's own work: nobody but its OGs reads it (DECISION D-MULTIREGIONAL, D-EXPERT)."""
    # A copy of the scope's query, built once per process: building it (its sub-queries) cost 0,4 ms, and a home page
    # asks four times (issue 16). The query depends on the scope's fields alone (the user's id among them: an expert's
    # and an observer's read their opinions), one per reader at work; the kept one is never evaluated, only copied, as
    # Django's class-based views copy their `queryset` at each request.
    return _visible_for(access_of(user)).all()


@functools.lru_cache(maxsize=512)
def _visible_for(access: Access) -> QuerySet[Dossier]:
    from esms_numerique.instruction.models import DossierRegion, ExpertOpinion

    dossiers = Dossier.objects.select_related("porteur")
    if access.og_id is not None:
        # The member OGs through a sub-query, not a join: no duplicate rows, hence no DISTINCT under counts and sorts.
        membership = Dossier.members.through.objects.filter(legalentity_id=access.og_id).values("dossier_id")
        return dossiers.filter(Q(porteur_id=access.og_id) | Q(pk__in=membership))
    filed = dossiers.exclude(state=State.BROUILLON)
    if access.reads_everything:
        return filed
    asked = Q(pk__in=ExpertOpinion.objects.filter(expert_id=access.user_id).values("dossier_id"))
    if access.read_region:
        covered = DossierRegion.objects.filter(region=access.read_region).values("dossier_id")
        seen = Q(pivot_region=access.read_region) | Q(pk__in=covered)
        return filed.filter(seen | asked if access.role == Role.OBSERVER else seen)
    if access.authenticated and access.role in (None, Role.OBSERVER):
        return filed.filter(asked)
    return dossiers.none()


def regional_desk(region: str) -> Q:
    """The dossiers the ARS of `region` instructs (acting_role as a filter): regional, it is their pivot ARS, and
    not handed over to CNSA/DNS (DECISION D-HAND-OVER)."""
    return Q(pivot_region=region) & ~Q(desk="national") & Q(hand_over__isnull=True)


def national_desk() -> Q:
    """The dossiers CNSA/DNS instructs: filed at the national desk, or handed over by their pivot ARS."""
    return Q(desk="national") | Q(hand_over__isnull=False)


def handed_over(dossier: Dossier) -> bool:
    """Whether the pivot ARS handed the dossier's instruction over to CNSA/DNS (AAP24 §7 nota; instruction app).
    Read once per dossier object (`handed_over_flag`, also set by an annotation of the dossier page's query)."""
    flag = getattr(dossier, "handed_over_flag", None)
    if flag is None:
        from esms_numerique.instruction.models import HandOver

        flag = HandOver.objects.filter(dossier_id=dossier.pk).exists()
        dossier.handed_over_flag = flag
    return flag


def can_see(user, dossier: Dossier) -> bool:
    return visible_dossiers(user).filter(pk=dossier.pk).exists()


def acting_role(user, dossier: Dossier) -> Role | None:
    """The role under which `user` may change `dossier`: the porteur OG itself; the pivot ARS for a regional
    filed dossier; CNSA/DNS for a national filed one, or a regional one the pivot ARS handed over (D-HAND-OVER).
    Members, the other ARS of a multiregional dossier, observers, experts and administrators read only."""
    access = access_of(user)
    if access.og_id is not None and access.og_id == dossier.porteur_id:
        return Role.PORTEUR
    if dossier.state == State.BROUILLON:
        return None
    if access.instructed_region and dossier.desk != "national" and access.instructed_region == dossier.pivot_region:
        return None if handed_over(dossier) else Role.ARS
    if access.is_national and (dossier.desk == "national" or handed_over(dossier)):
        return Role.NATIONAL
    return None


def is_porteur_of(user, dossier: Dossier) -> bool:
    return acting_role(user, dossier) == Role.PORTEUR


def is_instructor_of(user, dossier: Dossier) -> bool:
    return acting_role(user, dossier) in (Role.ARS, Role.NATIONAL)


def allowed_transitions(user, dossier: Dossier) -> list[Transition]:
    """The actions offered on the dossier's page (committee decisions are taken on the committee's page)."""
    role = acting_role(user, dossier)
    return [t for t in transitions_from(dossier.state) if role in t.roles and not t.committee_only]


def sees_annotations(user, dossier: Dossier, seen: bool = False) -> bool:
    """Instructors' private annotations: the pivot ARS, CNSA/DNS and administrators who can see the dossier; not
    the other ARS of a multiregional dossier, who read it only (DECISION D-MULTIREGIONAL). `seen`: the caller read
    `dossier` through visible_dossiers(user) (the dossier's page), which need not be asked again."""
    access = access_of(user)
    pivot = access.role == Role.ARS and access.region == dossier.pivot_region
    return (pivot or access.is_national or access.is_admin) and (seen or can_see(user, dossier))
