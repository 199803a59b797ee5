"""Who sees SONS orders and in which capacity one acts on them: an éditeur its own orders, an OG its own, the
national instructors (for the ASP) all of them; an ARS and a GRADeS read the orders of their region's ESSMS."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from esms_numerique.dossiers.access import profile_of, role_of
from esms_numerique.dossiers.enums import Role

from .models import Order
from .workflow import Actor


def visible_orders(user) -> QuerySet[Order]:
    orders = Order.objects.select_related("og", "solution", "solution__editor")
    role = role_of(user)
    if role in (Role.ADMIN, Role.NATIONAL):
        return orders
    profile = profile_of(user)
    if role == Role.EDITEUR and profile.editor_id:
        return orders.filter(solution__editor_id=profile.editor_id)
    if role == Role.PORTEUR and profile.legal_entity_id:
        entity = profile.legal_entity_id
        return orders.filter(Q(og_id=entity) | Q(other_ogs__id=entity)).distinct()
    if role in (Role.ARS, Role.OBSERVER) and profile.region:
        return orders.filter(items__establishment__region=profile.region).distinct()
    return orders.none()


def actor_of(user, order: Order) -> Actor | None:
    profile = profile_of(user)
    if profile is None:
        return None
    if profile.role == Role.EDITEUR and profile.editor_id == order.solution.editor_id:
        return Actor.EDITEUR
    if profile.role == Role.PORTEUR and profile.legal_entity_id == order.og_id:
        return Actor.OG
    if profile.role == Role.NATIONAL:
        return Actor.PAYEUR
    return None
