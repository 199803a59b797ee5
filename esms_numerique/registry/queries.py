"""Searching the registry: one place for the filters the web page and the API share."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Establishment


def search_establishments(
    q: str = "",
    department: str = "",
    region: str = "",
    og: str = "",
    category: str = "",
    sector: str = "",
    include_closed: bool = False,
) -> QuerySet[Establishment]:
    qs = Establishment.objects.select_related("legal_entity")
    if not include_closed:
        qs = qs.filter(closed_snapshot__isnull=True)
    q = q.strip()
    if q:
        qs = qs.filter(Q(finess_et=q.upper()) | Q(name__icontains=q) | Q(long_name__icontains=q))
    if department:
        qs = qs.filter(department=department.strip().upper())
    if region:
        qs = qs.filter(region=region.strip())
    if og:
        og = og.strip()
        qs = qs.filter(Q(legal_entity__finess_ej=og.upper()) | Q(legal_entity__name__icontains=og))
    if category:
        qs = qs.filter(category=category.strip())
    if sector:
        sector = sector.strip().upper()
        qs = qs.filter(Q(sector_override=sector) | Q(sector_override="", sector=sector))
    return qs.order_by("finess_et")
