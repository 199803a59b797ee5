"""Who a role named by a transition's `notifies` is, for one dossier or one order (docs/decisions.md,
D-NOTIFICATIONS): active users with an e-mail address and the profile the role names."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from esms_numerique.accounts.enums import Role
from esms_numerique.dossiers.models import Dossier
from esms_numerique.sons.models import Order

from .models import Follow

User = get_user_model()


def _reachable() -> QuerySet:
    return User.objects.filter(is_active=True).exclude(email="").select_related("profile")


def porteur(dossier: Dossier) -> QuerySet:
    """The porteur OG's users. Member OGs read the dossier on the platform but are not written to: the porteur
    speaks for the grappe."""
    return _reachable().filter(profile__role=Role.PORTEUR, profile__legal_entity_id=dossier.porteur_id)


def instructors(dossier: Dossier) -> list:
    """The desk's instructors (the pivot ARS for a regional dossier, CNSA/DNS for a national one) who have not
    stopped following it, and whoever follows it and still sees it."""
    from esms_numerique.dossiers.access import can_see

    if dossier.desk == "national":
        desk = Q(profile__role=Role.NATIONAL)
    else:
        desk = Q(profile__role=Role.ARS, profile__region=dossier.pivot_region) & ~Q(profile__region="")
    choices = dict(Follow.objects.filter(dossier=dossier).values_list("user_id", "following"))
    users = [u for u in _reachable().filter(desk) if choices.get(u.pk, True)]
    followers = [pk for pk, following in choices.items() if following and pk not in {u.pk for u in users}]
    users += [u for u in _reachable().filter(pk__in=followers) if can_see(u, dossier)]
    return users


def editor(order: Order) -> QuerySet:
    return _reachable().filter(profile__role=Role.EDITEUR, profile__editor_id=order.solution.editor_id)


def og(order: Order) -> QuerySet:
    """The ordering OG's users and those of the other client OGs of the order (« cas B »)."""
    entities = [order.og_id, *order.other_ogs.values_list("pk", flat=True)]
    return _reachable().filter(profile__role=Role.PORTEUR, profile__legal_entity_id__in=entities)


def payer() -> QuerySet:
    """CNSA/DNS, who record SONS payments for the ASP."""
    return _reachable().filter(profile__role=Role.NATIONAL)


def users_for(role: str, subject) -> list:
    """The users a role names for `subject` (a dossier, a payment request — its dossier — or an order)."""
    if isinstance(subject, Order):
        found = {"editeur": lambda: editor(subject), "og": lambda: og(subject), "payeur": payer}.get(role)
    else:
        dossier = subject if isinstance(subject, Dossier) else subject.dossier
        found = {
            "porteur": lambda: porteur(dossier),
            "instructeurs": lambda: instructors(dossier),
            "payeur": payer,
        }.get(role)
    if found is None:
        raise ValueError(f"rôle à notifier inconnu : {role}")
    return list(found())
