"""Who sees which dossiers and who may act on them: the one place every view and endpoint asks
(docs/decisions.md, D-DOSSIER-ROLES)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .enums import Role
from .models import Dossier, Profile
from .workflow import Transition, transitions_from


def profile_of(user) -> Profile | None:
    if not user.is_authenticated:
        return None
    return Profile.objects.filter(user=user).select_related("legal_entity").first()


def role_of(user) -> Role | None:
    if user.is_authenticated and user.is_superuser:
        return Role.ADMIN
    profile = profile_of(user)
    return Role(profile.role) if profile else None


def visible_dossiers(user) -> QuerySet[Dossier]:
    """An OG sees its own dossiers (as porteur or member), an ARS and a GRADeS their region's, the national
    instructors and administrators all of them; anyone else nothing."""
    dossiers = Dossier.objects.select_related("porteur")
    role = role_of(user)
    if role in (Role.ADMIN, Role.NATIONAL):
        return dossiers
    profile = profile_of(user)
    if role in (Role.ARS, Role.OBSERVER) and profile.region:
        return dossiers.filter(pivot_region=profile.region)
    if role == Role.PORTEUR and profile.legal_entity_id:
        entity = profile.legal_entity_id
        return dossiers.filter(Q(porteur_id=entity) | Q(members__id=entity)).distinct()
    return dossiers.none()


def can_see(user, dossier: Dossier) -> bool:
    return visible_dossiers(user).filter(pk=dossier.pk).exists()


def acting_role(user, dossier: Dossier) -> Role | None:
    """The role under which `user` may change `dossier`: the porteur OG itself; the pivot ARS for a regional
    dossier; CNSA/DNS for a national one. Members, observers and administrators read only."""
    profile = profile_of(user)
    if profile is None:
        return None
    role = Role(profile.role)
    if role == Role.PORTEUR and profile.legal_entity_id == dossier.porteur_id:
        return role
    if role == Role.ARS and dossier.desk != "national" and profile.region == dossier.pivot_region:
        return role
    if role == Role.NATIONAL and dossier.desk == "national":
        return role
    return None


def allowed_transitions(user, dossier: Dossier) -> list[Transition]:
    """The actions offered on the dossier's page (committee decisions are taken on the committee's page)."""
    role = acting_role(user, dossier)
    return [t for t in transitions_from(dossier.state) if role in t.roles and not t.committee_only]


def sees_annotations(user, dossier: Dossier) -> bool:
    """Instructors' private annotations: instructors and administrators who can see the dossier."""
    return role_of(user) in (Role.ARS, Role.NATIONAL, Role.ADMIN) and can_see(user, dossier)
