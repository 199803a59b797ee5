"""Searching the registry: one place for the filters the web page and the API share."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Upper

from .models import Establishment

FINESS_SHAPE = re.compile(r"[0-9][0-9AB][0-9]{7}")
LINE_BREAKS = re.compile(r"[\r\n]+")


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
    if FINESS_SHAPE.fullmatch(q.upper()):
        # A FINESS number: an exact match through the unique index, not a scan of the names.
        qs = qs.filter(finess_et=q.upper())
    elif q:
        # Capitals as the database writes them (its UPPER, the column's), through the search column's trigram index.
        # A line break in the search would match across the two names: it is a space.
        qs = qs.filter(search_name__contains=Upper(Value(LINE_BREAKS.sub(" ", q))))
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
