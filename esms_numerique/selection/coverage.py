"""Territorial coverage (issue 13, item 5): the ESSMS of the registry funded by ESMS numérique (a holding row of the
ledger: retained, engaged, paid — any campaign, one funding per ESSMS), proposed (in the latest proposal of a
committee, with its overrides, not yet decided) and never funded, by territory and by sector; and a tile map of the
regions as SVG, drawn here (no tile server, no script; DECISION D-COVERAGE)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

from django.db import connection
from django.db.models import Count

from esms_numerique import caching
from esms_numerique.dossiers.models import Committee, Dossier
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.ledger.services import ESMS_NUMERIQUE_KEY
from esms_numerique.registry.models import Establishment
from esms_numerique.rules.geography import geography

from . import stamps
from .models import Override, Proposal
from .services import PENDING, SECTOR_LABELS

# The regions on a grid that keeps their neighbours (column, row); the overseas regions on the last row.
TILES = {
    "32": (2, 0),
    "53": (0, 1),
    "28": (1, 1),
    "11": (2, 1),
    "44": (3, 1),
    "52": (1, 2),
    "24": (2, 2),
    "27": (3, 2),
    "75": (1, 3),
    "84": (2, 3),
    "76": (1, 4),
    "93": (2, 4),
    "94": (3, 4),
    "01": (0, 6),
    "02": (1, 6),
    "03": (2, 6),
    "04": (3, 6),
    "06": (4, 6),
}
# Share of the ESSMS funded: the class bounds and their fill (DSFR « bleu France » scale), text colour on it.
CLASSES = ((0.25, "#e3e3fd", "#161616"), (0.5, "#a1a1f8", "#161616"), (0.75, "#6a6af4", "#ffffff"))
TOP_CLASS = ("#000091", "#ffffff")
OUTSIDE = ("#eeeeee", "#666666")


@dataclass
class Coverage:
    scope: str  # "" national, else the region's code
    territories: list[dict[str, Any]] = field(default_factory=list)
    sectors: list[dict[str, Any]] = field(default_factory=list)
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)  # for the map
    totals: dict[str, int] = field(default_factory=dict)


def proposed_dossiers(region: str | None) -> list[int]:
    """Dossiers of the latest proposal of each committee in scope, with its overrides, not yet decided."""
    committees = Committee.objects.all() if region is None else Committee.objects.filter(region=region)
    latest: dict[int, tuple[int, str, list[str]]] = {}
    rows = (
        Proposal.objects.filter(committee__in=committees)
        .order_by("committee_id", "-created_at", "-id")
        .values_list("committee_id", "id", "status", "result__selected")
    )
    for committee_id, pk, status, selected in rows:
        if committee_id not in latest:
            latest[committee_id] = (pk, status, selected or [])
    chosen = {pk: set(selected) if status != "infeasible" else set() for pk, status, selected in latest.values()}
    overrides = Override.objects.filter(proposal_id__in=chosen).values_list("include", "dossier_id")
    references = set().union(*chosen.values()) if chosen else set()
    ids = set(Dossier.objects.filter(reference__in=references).values_list("id", flat=True)) if references else set()
    for include, dossier_id in overrides:
        (ids.add if include else ids.discard)(dossier_id)
    return sorted(Dossier.objects.filter(id__in=ids, state__in=PENDING).values_list("id", flat=True)) if ids else []


def _grouped(queryset, key: str) -> Counter[tuple[str, str]]:
    geo = geography()
    counts: Counter[tuple[str, str]] = Counter()
    for territory, sector, override, n in queryset.values_list(key, "sector", "sector_override").annotate(
        n=Count("id")
    ):
        if key == "department":
            territory = geo.normalize_department(territory) or territory
        counts[(territory or "?", override or sector or "?")] += n
    return counts


def coverage(region: str | None, on: dt.date) -> Coverage:
    """`region` None: every region (the national view); a region's code: its departments (an ARS)."""
    geo = geography()
    essms = Establishment.objects.open_on(on).essms()
    if region is not None:
        essms = essms.filter(region=region)
    funded_finess = FundedEssms.objects.filter(holds=True, funding_key=ESMS_NUMERIQUE_KEY).values("finess_et")
    proposed_ids = proposed_dossiers(region)
    key = "region" if region is None else "department"
    total = _grouped(essms, key)
    funded = _grouped(essms.filter(finess_et__in=funded_finess), key)
    proposed: Counter[tuple[str, str]] = Counter()
    if proposed_ids:
        proposed_finess = FundedEssms.objects.filter(
            dossier_id__in=proposed_ids, fundable=True, funding_key=ESMS_NUMERIQUE_KEY
        ).values("finess_et")
        proposed = _grouped(essms.filter(finess_et__in=proposed_finess).exclude(finess_et__in=funded_finess), key)
    result = Coverage(scope=region or "")

    def row(counts_of) -> dict[str, int]:
        essms_n, funded_n, proposed_n = (sum(counts_of(c)) for c in (total, funded, proposed))
        return {
            "essms": essms_n,
            "funded": funded_n,
            "proposed": proposed_n,
            "never": essms_n - funded_n - proposed_n,
            "funded_share": funded_n / essms_n if essms_n else None,
        }

    for code in sorted({t for t, _ in total}):
        if region is None:
            name = geo.region_name(code)
        else:
            department = geo.departments.get(code)
            name = department.name if department else code
        counts = row(lambda c, code=code: [n for (t, _), n in c.items() if t == code])
        result.territories.append({"code": code, "name": name, **counts})
    for code in sorted({s for _, s in total}):
        counts = row(lambda c, code=code: [n for (_, s), n in c.items() if s == code])
        result.sectors.append({"code": code, "name": SECTOR_LABELS.get(code, code), **counts})
    result.totals = row(lambda c: list(c.values()))
    if region is None:
        result.regions = {t["code"]: t for t in result.territories}
    else:
        result.regions = {region: {"code": region, "name": geo.region_name(region), **result.totals}}
    return result


def stamp() -> str:
    """What the coverage reads, in one small query: the audit log's last digest but sign-ins (every change through
    the services), the registry's last extract and establishment, the ledger's last row, the proposals and their
    overrides, the dossiers (count, versions, last change) — a change outside the services that adds rows moves it
    too (DECISION D-COMMITTEE-FIGURES-CACHE)."""
    last_change, params = caching.last_change_sql()
    sql = f"""
        SELECT o.*, d.*,
            ({last_change}),
            {stamps.last_ids(*stamps.REGISTRY_AND_LEDGER, Proposal)}
        FROM ({stamps.OVERRIDES}) o, (
            SELECT COUNT(*), SUM(version), MAX(updated_at) FROM {Dossier._meta.db_table}
        ) d"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return repr(cursor.fetchone())


def cached(region: str | None, on: dt.date) -> tuple[Coverage, str]:
    """The coverage and its map, computed once per state of the data they read (the whole registry is counted:
    hundreds of milliseconds nationally), then from the cache (DECISION D-COMMITTEE-FIGURES-CACHE)."""

    def compute() -> tuple[Coverage, str]:
        result = coverage(region, on)
        return result, map_svg(result)

    return caching.cached("selection:coverage", [region, on.isoformat(), stamp()], compute)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}\u00a0%"


def _fill(share: float | None) -> tuple[str, str]:
    if share is None:
        return OUTSIDE
    for bound, fill, text in CLASSES:
        if share < bound:
            return fill, text
    return TOP_CLASS


def map_svg(result: Coverage) -> str:
    """The regions as tiles, each filled by its share of ESSMS funded; regions out of scope are grey. Accessible:
    a title and a description, every tile its own title (the figures are in the table beside it)."""
    geo = geography()
    size, gap, margin = 92, 6, 10
    width = margin * 2 + 5 * (size + gap)
    height = margin * 2 + 6 * (size + gap) + 20 + 36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="coverage-map-title coverage-map-desc" class="coverage-map" width="100%">',
        '<title id="coverage-map-title">Part des ESSMS financés par région</title>',
        '<desc id="coverage-map-desc">Carte schématique : une case par région, les régions d\'outre-mer sur la '
        "dernière ligne ; plus la case est foncée, plus la part des ESSMS financés est grande. Les chiffres sont "
        "dans le tableau.</desc>",
    ]
    for code, (column, line) in TILES.items():
        x = margin + column * (size + gap)
        y = margin + line * (size + gap) - (size + gap if line == 6 else 0) + (20 if line == 6 else 0)
        data = result.regions.get(code)
        share = data["funded_share"] if data else None
        fill, text = _fill(share) if data else OUTSIDE
        name = geo.region_name(code)
        if data:
            tip = (
                f"{name} : {data['funded']} ESSMS financés sur {data['essms']} ({_percent(share)}), "
                f"{data['proposed']} proposés, {data['never']} jamais financés"
            )
        else:
            tip = f"{name} : hors de votre périmètre"
        parts.append(
            f'<g data-region="{code}"><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="6" fill="{fill}" stroke="#ffffff"/>'
            f'<text x="{x + size / 2}" y="{y + 34}" text-anchor="middle" font-size="12" font-weight="bold" '
            f'fill="{text}">{escape(SHORT_NAMES.get(code, name[:12]))}</text>'
            f'<text x="{x + size / 2}" y="{y + 60}" text-anchor="middle" font-size="17" fill="{text}">'
            f"{escape(_percent(share) if data else '')}</text></g>"
        )
    legend_y = height - 26
    x = margin
    for label, (fill, _text) in (
        ("< 25 %", CLASSES[0][1:]),
        ("25–50 %", CLASSES[1][1:]),
        ("50–75 %", CLASSES[2][1:]),
        ("≥ 75 %", TOP_CLASS),
    ):
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="16" height="16" fill="{fill}"/>'
            f'<text x="{x + 22}" y="{legend_y + 13}" font-size="13" fill="#161616">{escape(label)}</text>'
        )
        x += 110
    parts.append("</svg>")
    return "".join(parts)


SHORT_NAMES = {
    "11": "Île-de-Fr.",
    "24": "Centre-VdL",
    "27": "Bourg.-F.-C.",
    "28": "Normandie",
    "32": "Hauts-de-Fr.",
    "44": "Grand Est",
    "52": "Pays Loire",
    "53": "Bretagne",
    "75": "Nouv.-Aq.",
    "76": "Occitanie",
    "84": "Auv.-Rh.-A.",
    "93": "PACA",
    "94": "Corse",
    "01": "Guadeloupe",
    "02": "Martinique",
    "03": "Guyane",
    "04": "La Réunion",
    "06": "Mayotte",
}
