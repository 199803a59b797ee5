"""Who sees SONS orders and in which capacity one acts on them: an éditeur its own orders, an OG its own, the
national instructors (for the ASP) all of them; an ARS and a GRADeS read the orders of their region's ESSMS.
The scope comes from the one door (accounts/access.py)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from esms_numerique.accounts.access import access_of

from .models import Order
from .workflow import Actor


def visible_orders(user) -> QuerySet[Order]:
    access = access_of(user)
    orders = Order.objects.select_related("og", "solution", "solution__editor")
    if access.reads_everything:
        return orders
    if access.editor is not None:
        return orders.filter(solution__editor_id=access.editor)
    if access.og_id is not None:
        return orders.filter(Q(og_id=access.og_id) | Q(other_ogs__id=access.og_id)).distinct()
    if access.read_region:
        return orders.filter(items__establishment__region=access.read_region).distinct()
    return orders.none()


def actor_of(user, order: Order) -> Actor | None:
    access = access_of(user)
    if access.editor is not None and access.editor == order.solution.editor_id:
        return Actor.EDITEUR
    if access.og_id is not None and access.og_id == order.og_id:
        return Actor.OG
    if access.is_national:
        return Actor.PAYEUR
    return None
