"""The only place that changes selection data — envelopes (CNSA), prioritisation grids (the dossier's instructors),
proposals (the committee's instructors) — each change audited; and the figures a committee reads: envelope, already
engaged, proposed and remaining, by territory and by sector (AAP24 §6; docs/decisions.md, DECISION D-SELECTION)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet
from django.db.models.fields.json import KeyTransform

from esms_numerique import caching, clock
from esms_numerique.accounts.access import access_of
from esms_numerique.audit.services import record
from esms_numerique.dossiers import committees
from esms_numerique.dossiers.access import is_instructor_of
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.evaluation import ledger_lines
from esms_numerique.dossiers.models import Committee, CommitteeItem, Dossier
from esms_numerique.dossiers.workflow import DECIDED
from esms_numerique.instruction.models import HandOver
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.registry.models import Establishment
from esms_numerique.rules import selection as rules
from esms_numerique.rules.context import available_campaigns
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree

from . import stamps
from .models import DecisionLink, Envelope, GridAssessment, Override, Proposal

# What « already engaged » counts: the decided dossiers (dossiers.workflow.DECIDED: retained, then engaged and paid,
# until closed). A dossier withdrawn, closed without follow-up or abandoned (its money recovered) gives its amount
# back to the envelope.
# A grid is filled while the dossier is instructed, before the committee decides.
GRID_STATES = (State.RECEVABLE, State.EN_INSTRUCTION, State.PRESENTE_COMITE)
# What « proposed » counts: the latest proposal's dossiers still waiting for the committee's decision.
PENDING = (State.EN_INSTRUCTION, State.PRESENTE_COMITE)
SECTOR_LABELS = {row["code"]: row["label"] for row in default_tree().get("sectors.sectors").values[-1].value}


class SelectionError(Exception):
    """A refusal in French, shown to the user as it is."""


# ---------------------------------------------------------------------------------------------------------------
# Envelopes.


def envelope_in_force(campaign: str, region: str, on: dt.date) -> Envelope | None:
    return (
        Envelope.objects.filter(campaign=campaign, region=region, effective_on__lte=on)
        .order_by("-effective_on", "-set_at", "-id")
        .first()
    )


def region_choices() -> list[tuple[str, str]]:
    geo = geography()
    return [("", "Guichet national (CNSA/DNS)")] + [
        (code, f"{code} {region.name}") for code, region in sorted(geo.regions.items())
    ]


def set_envelope(
    user, campaign: str, region: str, amount_eur: int, effective_on: dt.date, reference: str, reason: str
) -> Envelope:
    """CNSA fixes (or changes) a campaign's envelope for a region or the national desk: a new dated row with its
    reference and reason, audited with the amount it replaces."""
    if not access_of(user).is_national:
        raise PermissionDenied("Seule la CNSA fixe les enveloppes de campagne.")
    if campaign not in available_campaigns():
        raise SelectionError(f"Campagne inconnue « {campaign} ».")
    if region not in dict(region_choices()):
        raise SelectionError(f"Région inconnue « {region} ».")
    if not reference.strip() or not reason.strip():
        raise SelectionError("L'enveloppe doit citer sa référence et être motivée.")
    with transaction.atomic():
        previous = envelope_in_force(campaign, region, effective_on)
        envelope = Envelope.objects.create(
            campaign=campaign,
            region=region,
            amount_eur=amount_eur,
            effective_on=effective_on,
            reference=reference.strip(),
            reason=reason.strip(),
            set_by=user,
        )
        record(
            user.get_username(),
            "set_envelope",
            "Envelope",
            str(envelope.pk),
            before={"montant": previous.amount_eur, "en vigueur le": previous.effective_on.isoformat()}
            if previous
            else None,
            after={
                "campagne": campaign,
                "région": region or "national",
                "montant": amount_eur,
                "en vigueur le": effective_on.isoformat(),
                "référence": envelope.reference,
            },
            reason=envelope.reason,
        )
    return envelope


# ---------------------------------------------------------------------------------------------------------------
# Where a dossier's money goes: by territory and by sector, in whole euros.


def _essms_weights(dossier: Dossier) -> dict[str, dict[str, Any]]:
    """The fundable ESSMS of the frozen result with their amount lines (the project's own lines, equipment and
    AMOA, follow them pro rata)."""
    result = dossier.filed_result or {}
    amounts: Counter[str] = Counter()
    for line in result.get("lines", []):
        if line.get("finess_et"):
            amounts[line["finess_et"]] += line.get("amount_eur") or 0
    fundable = [e for e in result.get("essms", []) if e.get("fundable", True) and e.get("finess_et")]
    use_amounts = any(amounts[e["finess_et"]] for e in fundable)
    return {e["finess_et"]: {**e, "weight": amounts[e["finess_et"]] if use_amounts else 1} for e in fundable}


def split(dossier: Dossier, amount_eur: int, national: bool) -> tuple[dict[str, int], dict[str, int]]:
    """The amount by territory (department, or region for the national desk) and by sector."""
    essms = _essms_weights(dossier)
    territories: Counter[str] = Counter()
    sectors: Counter[str] = Counter()
    for e in essms.values():
        territories[(e.get("region") if national else e.get("department")) or "?"] += e["weight"]
        sectors[e.get("sector") or "?"] += e["weight"]
    return rules.split_eur(amount_eur, dict(territories)), rules.split_eur(amount_eur, dict(sectors))


# ---------------------------------------------------------------------------------------------------------------
# A committee's scope, campaign and figures.


def committee_campaign(committee: Committee) -> str:
    """The campaign a committee sits in: the latest campaign opened by its year (DECISION D-SELECTION)."""
    campaigns = available_campaigns()
    opened = [c for c in campaigns if c <= str(committee.date.year)]
    return max(opened) if opened else min(campaigns)


def scope_dossiers(committee: Committee, campaign: str) -> QuerySet[Dossier]:
    dossiers = Dossier.objects.filter(campaign=campaign, desk="national" if committee.region == "" else "regional")
    return dossiers.filter(pivot_region=committee.region) if committee.region else dossiers


def density(committee: Committee, on: dt.date) -> dict[str, int]:
    """The ESSMS of each territory in the registry on `on`: departments of the region, or regions for the national
    desk (AAP24 §6 « selon la densité des ESSMS »)."""
    essms = Establishment.objects.open_on(on).essms()
    if committee.region:
        rows = essms.filter(region=committee.region).values("department").annotate(n=Count("id"))
        geo = geography()
        counts: Counter[str] = Counter()
        for row in rows:
            counts[geo.normalize_department(row["department"]) or row["department"]] += row["n"]
        return dict(counts)
    return {row["region"]: row["n"] for row in essms.exclude(region="").values("region").annotate(n=Count("id"))}


@dataclass
class Figures:
    campaign: str
    envelope: Envelope | None
    engaged_eur: int = 0
    proposed_eur: int = 0
    proposal: Proposal | None = None
    chosen: set[str] = field(default_factory=set)  # the latest proposal with its overrides
    proposed: list[str] = field(default_factory=list)
    territories: list[dict[str, Any]] = field(default_factory=list)
    sectors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def envelope_eur(self) -> int | None:
        return self.envelope.amount_eur if self.envelope else None

    @property
    def remaining_eur(self) -> int | None:
        if self.envelope is None:
            return None
        return self.envelope.amount_eur - self.engaged_eur - self.proposed_eur


def _splits(dossiers: QuerySet[Dossier], amount, national: bool) -> list[tuple[str, int, dict, dict]]:
    """Each dossier's reference, amount (an expression) and split by territory and by sector. A split depends on the
    frozen result and the amount only: it is kept in the cache per version of the dossier, and the result's JSON is
    read only for a dossier changed since (issue 16; DECISION D-COMMITTEE-FIGURES-CACHE)."""
    columns = dossiers.annotate(amount=amount).values_list("pk", "reference", "version", "updated_at", "amount")
    rows = [
        (pk, reference, amount or 0, f"selection:split:{pk}:{version}:{updated.isoformat()}:{amount or 0}:{national}")
        for pk, reference, version, updated, amount in columns
    ]
    found = caching.pages().get_many([key for *_, key in rows])
    missing = {pk: (amount, key) for pk, _, amount, key in rows if key not in found}
    if missing:
        fresh = {}
        for dossier in Dossier.objects.filter(pk__in=missing).only("filed_result"):
            amount, key = missing[dossier.pk]
            fresh[key] = split(dossier, amount, national)
        caching.pages().set_many(fresh, caching.DEFAULT_SECONDS)
        found |= fresh
    return [(reference, amount, *found[key]) for _, reference, amount, key in rows]


def engaged(committee: Committee, campaign: str) -> tuple[int, Counter[str], Counter[str]]:
    """What the scope already engaged this campaign: in total, by territory and by sector."""
    national = committee.region == ""
    total, by_territory, by_sector = 0, Counter(), Counter()
    decided = scope_dossiers(committee, campaign).filter(state__in=DECIDED).exclude(engaged_eur=None)
    for _, amount, by_t, by_s in _splits(decided, F("engaged_eur"), national):
        total += amount
        by_territory.update(by_t)
        by_sector.update(by_s)
    return total, by_territory, by_sector


def latest_proposal(committee: Committee) -> Proposal | None:
    return committee.proposals.select_related("created_by").first()


def _territory_name(code: str, national: bool) -> str:
    geo = geography()
    if national:
        return geo.region_name(code)
    department = geo.departments.get(code)
    return department.name if department else code


def figures_stamp(committee: Committee) -> str:
    """What a committee's figures and pages are computed from, read in one small query: the audit log's last digest
    but sign-ins (every change made through the services is audited in its transaction, and the digest chains the
    whole log), and the rows they read, counted and summed — the dossiers of the region (or of the national desk)
    and of the agenda, which hold a proposal's candidates; the agenda's items and decisions, the dossiers handed
    over, the envelopes, the proposals and their overrides, the grids, the registry's extracts and last
    establishment, the ledger's last row — so that a change made outside the services moves it too; and today's
    date (the registry's ESSMS are counted on it). Plain SQL: the ORM took four times the database's time to compile
    it. DECISION D-COMMITTEE-FIGURES-CACHE."""
    campaign = committee_campaign(committee)
    table = {model.__name__: model._meta.db_table for model in (Dossier, Envelope, Proposal)}
    items = f"SELECT dossier_id FROM {CommitteeItem._meta.db_table} WHERE committee_id = %s"
    if committee.region:
        scope, scope_params = f"pivot_region = %s OR id IN ({items})", [committee.region, committee.pk]
    else:
        handed_over = f"SELECT dossier_id FROM {HandOver._meta.db_table}"
        scope, scope_params = f"desk = %s OR id IN ({handed_over}) OR id IN ({items})", ["national", committee.pk]
    decided, pending = ", ".join(["%s"] * len(DECIDED)), ", ".join(["%s"] * len(PENDING))
    last_change, last_change_params = caching.last_change_sql()
    sql = f"""
        SELECT d.*, o.*,
            ({last_change}),
            (SELECT MAX(id) FROM {table["Envelope"]} WHERE campaign = %s AND region = %s),
            (SELECT SUM(amount_eur) FROM {table["Envelope"]} WHERE campaign = %s AND region = %s),
            (SELECT MAX(id) FROM {table["Proposal"]} WHERE committee_id = %s),
            (SELECT COUNT(*) FROM {table["Proposal"]} WHERE committee_id = %s),
            {stamps.last_ids(*stamps.REGISTRY_AND_LEDGER)},
            g.*, i.*, h.*
        FROM (
            SELECT COUNT(*), SUM(id), SUM(version), MAX(updated_at), SUM(engaged_eur),
                SUM(CASE WHEN state IN ({decided}) THEN 1 ELSE 0 END),
                SUM(CASE WHEN state IN ({pending}) THEN 1 ELSE 0 END)
            FROM {table["Dossier"]} WHERE {scope}
        ) d, (
            {stamps.OVERRIDES}
            WHERE proposal_id IN (SELECT id FROM {table["Proposal"]} WHERE committee_id = %s)
        ) o, (
            SELECT COUNT(*), SUM(version), SUM(points), MAX(updated_at) FROM {GridAssessment._meta.db_table}
        ) g, (
            SELECT COUNT(*), MAX(id), SUM(CASE WHEN decision = '' THEN 0 ELSE 1 END), MAX(decided_at)
            FROM {CommitteeItem._meta.db_table} WHERE committee_id = %s
        ) i, (
            SELECT COUNT(*), MAX(id) FROM {HandOver._meta.db_table}
        ) h"""
    params = [*DECIDED, *PENDING, *scope_params, committee.pk, committee.pk]
    params = [
        *last_change_params,
        *(campaign, committee.region, campaign, committee.region, committee.pk, committee.pk),
        *params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return repr((committee.pk, committee.region, committee.date, committee.cutoff_date, clock.today(), row))


def committee_figures(committee: Committee, stamp: str | None = None) -> Figures:
    """Envelope, already engaged (this campaign, this scope), proposed (the latest proposal's dossiers not yet
    decided) and remaining; the same by territory (with its share of the ESSMS) and by sector. Computed once per
    state of the data they read (`stamp`, from figures_stamp), then served from the cache
    (DECISION D-COMMITTEE-FIGURES-CACHE)."""
    stamp = stamp or figures_stamp(committee)
    return caching.cached("selection:figures", stamp, lambda: compute_figures(committee))


def committee_candidacy(user, committee: Committee, stamp: str | None = None) -> dict[str, Any]:
    """What the proposal page shows of `candidacy`: each candidate's reference, title, state, filed total and grid,
    and those set aside with why; cached like the figures, for this user's access (DECISION
    D-COMMITTEE-FIGURES-CACHE). A proposal itself always reads `candidacy` afresh."""
    stamp = (stamp or figures_stamp(committee)) + repr(access_of(user))

    def compute():
        found = candidacy(user, committee)
        grids = GridAssessment.objects.filter(dossier__in=found.dossiers).values("dossier_id", "points", "max_points")
        points = {row["dossier_id"]: row for row in grids}
        rows = [
            {
                "reference": dossier.reference,
                "title": dossier.title,
                "state_label": dossier.state_label,
                "total_eur": (dossier.filed_result or {}).get("total_eur"),
                "grid": points.get(dossier.pk),
            }
            for dossier in found.dossiers
        ]
        return {"dossiers": rows, "set_aside": found.set_aside}

    return caching.cached("selection:candidacy", stamp, compute)


def committee_conflicts(committee: Committee, dossier_ids: list[int], stamp: str | None = None) -> dict:
    """E-NO-DOUBLE before deciding: for each of these dossiers (of the committee's agenda or eligible to it), the
    ESSMS it shares with other dossiers or SONS orders (the ledger), one line each; cached like the figures
    (DECISION D-COMMITTEE-FIGURES-CACHE)."""
    stamp = (stamp or figures_stamp(committee)) + repr(sorted(dossier_ids))

    def compute():
        rows = FundedEssms.objects.filter(dossier_id__in=dossier_ids)
        return ledger.conflicts_by_subject(ledger.conflicts(rows))

    return caching.cached("selection:conflicts", stamp, compute)


def compute_figures(committee: Committee) -> Figures:
    """The figures of committee_figures, computed from the database."""
    campaign = committee_campaign(committee)
    national = committee.region == ""
    figures = Figures(campaign, envelope_in_force(campaign, committee.region, committee.date))
    figures.engaged_eur, engaged_t, engaged_s = engaged(committee, campaign)
    proposed_t: Counter[str] = Counter()
    proposed_s: Counter[str] = Counter()
    figures.proposal = latest_proposal(committee)
    figures.chosen = effective_selection(figures.proposal)
    if figures.chosen:
        pending = Dossier.objects.filter(reference__in=figures.chosen, state__in=PENDING).order_by("reference")
        for reference, amount, by_t, by_s in _splits(pending, KeyTransform("total_eur", "filed_result"), national):
            figures.proposed.append(reference)
            figures.proposed_eur += amount
            proposed_t.update(by_t)
            proposed_s.update(by_s)
    counts = density(committee, clock.today())
    total_essms = sum(counts.values())
    allocated = figures.engaged_eur + figures.proposed_eur
    for code in sorted(set(counts) | set(engaged_t) | set(proposed_t)):
        amount = engaged_t[code] + proposed_t[code]
        figures.territories.append(
            {
                "code": code,
                "name": _territory_name(code, national),
                "essms": counts.get(code, 0),
                "essms_share": counts.get(code, 0) / total_essms if total_essms else None,
                "engaged_eur": engaged_t[code],
                "proposed_eur": proposed_t[code],
                "allocation_share": amount / allocated if allocated else None,
            }
        )
    for code in sorted(set(engaged_s) | set(proposed_s)):
        amount = engaged_s[code] + proposed_s[code]
        figures.sectors.append(
            {
                "code": code,
                "name": SECTOR_LABELS.get(code, code),
                "engaged_eur": engaged_s[code],
                "proposed_eur": proposed_s[code],
                "allocation_share": amount / allocated if allocated else None,
            }
        )
    return figures


# ---------------------------------------------------------------------------------------------------------------
# The prioritisation grid (P-GRID).


def _essms_facts(dossier: Dossier) -> dict[str, Any]:
    """The fundable ESSMS of the frozen result, and the share of acquisitions among them."""
    essms = list(_essms_weights(dossier).values())
    acquisitions = sum(1 for e in essms if e.get("operation") == "acquisition")
    return {
        "essms": len(essms),
        "acquisitions": acquisitions,
        "acquisition_share": Fraction(acquisitions, len(essms)) if essms else Fraction(0),
    }


def grid_facts(dossier: Dossier) -> dict[str, Any]:
    """What the platform knows of the grappe for the grid: fundable ESSMS, their sectors, the OGs that share the
    solution (FINESS EJ of the ESSMS, from the grappe or the registry), the share of acquisitions."""
    essms = list(_essms_weights(dossier).values())
    grappe_ogs = {
        str(e.get("finess_ej")).strip()
        for e in dossier.grappe.get("essms", [])
        if isinstance(e, dict) and e.get("finess_ej")
    }
    registry_ogs = set(
        Establishment.objects.filter(finess_et__in=[e["finess_et"] for e in essms]).values_list(
            "legal_entity__finess_ej", flat=True
        )
    )
    ogs = sorted((grappe_ogs | registry_ogs) - {""})
    return {
        **_essms_facts(dossier),
        "sectors": sorted({e.get("sector") for e in essms if e.get("sector")}),
        "ogs": ogs,
        **measured_usage([e["finess_et"] for e in essms]),
    }


def measured_usage(finess: list[str]) -> dict[str, Any]:
    """The latest usage measurement of each of these ESSMS, in any dossier (an ESSMS already equipped): the people
    accompanied, and the services socles and platforms in use (a rate or a count above zero)."""
    from esms_numerique.indicators.models import UsageMeasurement

    latest: dict[str, Any] = {}
    rows = UsageMeasurement.objects.filter(finess_et__in=finess).order_by("finess_et", "-measurement_date", "-id")
    for row in rows.only("finess_et", "people_accompanied", "mss_rate", "dmp_rate", "eparcours_exchanges"):
        latest.setdefault(row.finess_et, row)
    services_used = set()
    for row in latest.values():
        if row.mss_rate > 0:
            services_used.add("MSSanté")
        if row.dmp_rate > 0:
            services_used.add("DMP")
    platforms = {"e-parcours"} if any((row.eparcours_exchanges or 0) > 0 for row in latest.values()) else set()
    return {
        "measured_essms": len(latest),
        "people": sum(row.people_accompanied for row in latest.values()) if latest else None,
        "services_socles": sorted(services_used),
        "platforms": sorted(platforms),
    }


def grid_date(dossier: Dossier) -> dt.date:
    return dossier.filed_at.date() if dossier.filed_at else clock.today()


def prefill(dossier: Dossier) -> dict[str, dict[str, Any]]:
    """The notes the platform proposes, each with the facts and the parameter it read."""
    facts = grid_facts(dossier)
    note, value = rules.mutualisation_prefill(grid_date(dossier), max(1, len(facts["ogs"])), len(facts["sectors"]))
    proposed = {
        "mutualisation": {
            "note": note,
            "why": f"{len(facts['ogs'])} OG partagent la solution, ESSMS de {len(facts['sectors'])} secteur(s) "
            f"({', '.join(facts['sectors']) or '—'})",
            "source": str(value.reference),
        }
    }
    if facts["measured_essms"]:
        note, value = rules.interoperability_prefill(
            grid_date(dossier), len(facts["services_socles"]), len(facts["platforms"])
        )
        used = ", ".join(facts["services_socles"] + facts["platforms"]) or "aucun"
        proposed["interoperabilite"] = {
            "note": note,
            "why": f"Mesures d'usage de {facts['measured_essms']} ESSMS ({facts['people']} personnes accompagnées) : "
            f"services socles et plateformes utilisés : {used}",
            "source": str(value.reference),
        }
    return proposed


def save_grid(user, dossier: Dossier, notes: dict[str, int], comments: dict[str, str]) -> GridAssessment:
    if not is_instructor_of(user, dossier):
        raise PermissionDenied("Seuls les instructeurs du dossier remplissent sa grille.")
    if dossier.state not in GRID_STATES:
        raise SelectionError("La grille se remplit pendant l'instruction, avant la décision du comité.")
    on = grid_date(dossier)
    grid = rules.grid_on(on)
    try:
        score = rules.grid_score(grid, notes)
    except ValueError as error:
        raise SelectionError(str(error)) from None
    comments = {code: text.strip() for code, text in comments.items() if code in grid.codes() and text.strip()}
    with transaction.atomic():
        existing = GridAssessment.objects.select_for_update().filter(dossier=dossier).first()
        before = {"notes": existing.notes, "points": existing.points} if existing else None
        fields = {
            "notes": {line["criterion"]: line["note"] for line in score.lines},
            "comments": comments,
            "points": score.points,
            "max_points": score.max_points,
            "parameters_on": on,
            "prefill": prefill(dossier),
            "updated_by": user,
            "updated_at": clock.now(),
        }
        if existing:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.version += 1
            existing.save()
            assessment = existing
        else:
            assessment = GridAssessment.objects.create(dossier=dossier, **fields)
        record(
            user.get_username(),
            "priority_grid",
            "Dossier",
            dossier.reference,
            before=before,
            after={"notes": assessment.notes, "points": score.points, "sur": score.max_points},
            reason="Grille de priorisation (AAP24 §6)",
        )
    return assessment


# ---------------------------------------------------------------------------------------------------------------
# The proposal (P-PROPOSAL).


@dataclass
class Candidacy:
    """Who the proposal considers, and who it sets aside before solving (with why)."""

    dossiers: list[Dossier]
    candidates: list[rules.Candidate]
    set_aside: list[dict[str, str]]
    clashes: tuple[tuple[str, str, str], ...]


def candidacy(user, committee: Committee) -> Candidacy:
    """The admissible dossiers under instruction in the committee's scope and those on its agenda not yet decided.
    Set aside: a blocking finding, or an ESSMS already held by another dossier or SONS order (E-NO-DOUBLE)."""
    national = committee.region == ""
    # Neither query reads the grappe: what a candidate weighs is in its frozen result (issue 16).
    pending = [
        item.dossier for item in committee.items.filter(decision="").select_related("dossier").defer("dossier__grappe")
    ]
    eligible = committees.eligible_dossiers(user, committee).select_related(None).defer("grappe")
    dossiers = sorted({d.pk: d for d in [*pending, *eligible]}.values(), key=lambda d: d.reference)
    grids = dict(GridAssessment.objects.filter(dossier__in=dossiers).values_list("dossier_id", "points"))
    grid_max = rules.grid_on(committee.date).max_points
    lines = {dossier.pk: ledger_lines(dossier) for dossier in dossiers}
    holders = _holders({line.finess_et for found in lines.values() for line in found if line.fundable})
    kept, candidates, set_aside = [], [], []
    for dossier in dossiers:
        if dossier.has_blocking_finding:
            set_aside.append({"reference": dossier.reference, "why": "Un constat bloquant : non recevable en l'état."})
            continue
        # The ledger is asked only for a dossier whose ESSMS another dossier or order holds (one query for all).
        held = any(holders.get(line.finess_et, set()) - {dossier.pk} for line in lines[dossier.pk] if line.fundable)
        clashes = ledger.held_against(lines[dossier.pk], dossier=dossier) if held else []
        if clashes:
            set_aside.append({"reference": dossier.reference, "why": "E-NO-DOUBLE : " + ledger.describe(clashes)})
            continue
        facts = _essms_facts(dossier)
        cost = (dossier.filed_result or {}).get("total_eur") or 0
        by_t, by_s = split(dossier, cost, national)
        kept.append(dossier)
        candidates.append(
            rules.Candidate(
                reference=dossier.reference,
                cost_eur=cost,
                new_essms=facts["essms"],
                acquisition_share=facts["acquisition_share"],
                by_territory=by_t,
                by_sector=by_s,
                score=grids.get(dossier.pk),
                score_max=grid_max,
            )
        )
    return Candidacy(kept, candidates, set_aside, _clashes(kept))


def _holders(finess_ets: set[str]) -> dict[str, set[int | None]]:
    """For each of these ESSMS, the dossiers (their id; None for a SONS order) whose ledger row holds its funding."""
    holders: dict[str, set[int | None]] = defaultdict(set)
    rows = FundedEssms.objects.filter(holds=True, finess_et__in=finess_ets).values_list("finess_et", "dossier_id")
    for finess, dossier_id in rows:
        holders[finess].add(dossier_id)
    return holders


def _clashes(dossiers: list[Dossier]) -> tuple[tuple[str, str, str], ...]:
    """Pairs of candidates whose ledger rows claim the same fundable ESSMS: P-EXCLUSIVE."""
    by_finess: dict[str, set[str]] = defaultdict(set)
    rows = FundedEssms.objects.filter(dossier__in=dossiers, fundable=True, funding_key=ledger.ESMS_NUMERIQUE_KEY)
    for finess, reference in rows.values_list("finess_et", "dossier__reference"):
        by_finess[finess].add(reference)
    pairs: dict[tuple[str, str], str] = {}
    for finess, references in sorted(by_finess.items()):
        ordered = sorted(references)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                pairs.setdefault((a, b), finess)
    return tuple((a, b, finess) for (a, b), finess in sorted(pairs.items()))


def situation(committee: Committee, envelope: Envelope, clashes) -> rules.Situation:
    total, by_territory, by_sector = engaged(committee, committee_campaign(committee))
    return rules.Situation(
        envelope_eur=envelope.amount_eur,
        engaged_eur=total,
        engaged_by_territory=dict(by_territory),
        engaged_by_sector=dict(by_sector),
        density=density(committee, clock.today()),
        clashes=clashes,
    )


def make_proposal(user, committee: Committee, settings: rules.Settings) -> Proposal:
    """Solves and records a proposal for the committee; the committee's instructors only (the administrator reads).
    A proposal decides nothing: each item is still decided, with its reason, on the committee's page."""
    access = access_of(user)
    if access.committee_region is None or not committees.visible_committees(user).filter(pk=committee.pk).exists():
        raise PermissionDenied("Seuls les instructeurs du comité demandent une proposition.")
    campaign = committee_campaign(committee)
    envelope = envelope_in_force(campaign, committee.region, committee.date)
    if envelope is None:
        where = f"la région {committee.region}" if committee.region else "le guichet national"
        raise SelectionError(
            f"Aucune enveloppe n'est fixée pour {where}, campagne {campaign}, au {committee.date:%d/%m/%Y} : "
            "la CNSA la fixe sur la page des enveloppes."
        )
    found = candidacy(user, committee)
    result = rules.propose(found.candidates, situation(committee, envelope, found.clashes), settings)
    result["set_aside"] = found.set_aside
    result["campaign"] = campaign
    result["envelope_reference"] = envelope.reference
    with transaction.atomic():
        proposal = Proposal.objects.create(
            committee=committee,
            envelope=envelope,
            options=settings.as_dict(),
            result=result,
            status=result["status"],
            total_eur=result["total_eur"],
            created_by=user,
        )
        record(
            user.get_username(),
            "selection_proposal",
            "Committee",
            str(committee.pk),
            after={
                "proposition": proposal.pk,
                "statut": result["status"],
                "proposés": result["selected"],
                "montant": result["total_eur"],
                "réglages": settings.as_dict(),
            },
        )
    return proposal


# ---------------------------------------------------------------------------------------------------------------
# Overrides and decisions (P-OVERRIDE): the committee departs from the proposal with a reason; each decision
# records the proposal it followed, or the override that explains it (DECISION D-SELECTION-DECISIONS).


def effective_selection(proposal: Proposal | None) -> set[str]:
    """The dossiers a proposal holds once the committee's overrides are applied."""
    if proposal is None:
        return set()
    chosen = set(proposal.selected) if proposal.status != "infeasible" else set()
    for include, reference in proposal.overrides.values_list("include", "dossier__reference"):
        (chosen.add if include else chosen.discard)(reference)
    return chosen


def _candidates_of(proposal: Proposal) -> set[str]:
    return {row["reference"] for row in proposal.result.get("dossiers", [])}


def _check_committee_instructor(user, committee: Committee) -> None:
    access = access_of(user)
    if access.committee_region is None or not committees.visible_committees(user).filter(pk=committee.pk).exists():
        raise PermissionDenied("Seuls les instructeurs du comité s'écartent de sa proposition.")


def _decided(committee: Committee, dossier: Dossier) -> bool:
    return committee.items.filter(dossier=dossier).exclude(decision="").exists()


def set_override(user, proposal: Proposal, dossier: Dossier, include: bool, reason: str) -> Override | None:
    """The committee adds a dossier the optimiser left out (`include`) or takes out one it proposed, with its
    reason; audited. Asking for what the optimiser itself proposed cancels an earlier override (returns None)."""
    committee = proposal.committee
    _check_committee_instructor(user, committee)
    if latest_proposal(committee) != proposal:
        raise SelectionError("Seule la dernière proposition du comité se corrige : recalculez-la ou partez d'elle.")
    if dossier.reference not in _candidates_of(proposal):
        raise SelectionError(f"{dossier.reference} n'était pas candidat à cette proposition.")
    if _decided(committee, dossier):
        raise SelectionError(f"Le comité a déjà décidé {dossier.reference} : sa décision ne se modifie pas.")
    if not reason.strip():
        raise SelectionError("Un écart à la proposition doit être motivé.")
    by_optimiser = dossier.reference in proposal.selected and proposal.status != "infeasible"
    with transaction.atomic():
        existing = Override.objects.select_for_update().filter(proposal=proposal, dossier=dossier).first()
        before = {"dossier": dossier.reference, "ajouté": existing.include} if existing else None
        if include == by_optimiser:
            if existing is None:
                state = "proposé" if include else "hors de la proposition"
                raise SelectionError(f"{dossier.reference} est déjà {state} : rien à corriger.")
            existing.delete()
            override = None
        elif existing:
            existing.include, existing.reason, existing.created_by = include, reason.strip(), user
            existing.created_at = clock.now()
            existing.save()
            override = existing
        else:
            override = Override.objects.create(
                proposal=proposal, dossier=dossier, include=include, reason=reason.strip(), created_by=user
            )
        record(
            user.get_username(),
            "selection_override",
            "Committee",
            str(committee.pk),
            before=before,
            after={
                "proposition": proposal.pk,
                "dossier": dossier.reference,
                "écart": None if override is None else ("ajouté" if include else "retiré"),
            },
            reason=reason.strip(),
        )
    return override


def link_decision(user, item, decision: str, override_reason: str = "") -> DecisionLink:
    """Called by the committee's decision, inside its transaction and before the item records it: the latest
    proposal, whether it proposed the dossier, and whether the decision follows it. A decision against the proposal
    (with its overrides) must give the reason of the departure, recorded as an override; refused in French otherwise
    (DECISION D-SELECTION-DECISIONS)."""
    proposal = latest_proposal(item.committee)
    if proposal is None or item.dossier.reference not in _candidates_of(proposal):
        return DecisionLink.objects.create(item=item, proposal=proposal)
    reference = item.dossier.reference
    retained = decision == "retenu"
    by_optimiser = reference in proposal.selected and proposal.status != "infeasible"
    override = proposal.overrides.filter(dossier=item.dossier).first()
    if retained != (reference in effective_selection(proposal)):
        if not override_reason.strip():
            said = "propose" if by_optimiser else "ne propose pas"
            raise SelectionError(
                f"La proposition n° {proposal.pk} {said} {reference} : motivez l'écart à la proposition "
                "pour décider autrement."
            )
        override = set_override(user, proposal, item.dossier, retained, override_reason)
    followed = retained == by_optimiser
    return DecisionLink.objects.create(
        item=item,
        proposal=proposal,
        proposed=by_optimiser,
        followed=followed,
        override=None if followed else override,
    )


# ---------------------------------------------------------------------------------------------------------------
# Campaign what-if (P-WHATIF), read-only.


def whatif_parameters(campaign: str) -> list[tuple[str, str]]:
    """The campaign's amounts, counts and shares a draft may change: (name, description with the value in force)."""
    tree = default_tree()
    prefix = f"esms_numerique/{campaign}/"
    found = []
    for key, file in sorted(tree.files.items()):
        if key.startswith(prefix):
            for short, parameter in file.parameters.items():
                if parameter.unit in rules.WHATIF_UNITS:
                    current = parameter.values[-1].value
                    found.append(
                        (f"{key}.{short}", f"{key[len(prefix) :]}.{short} — {parameter.description} ({current})")
                    )
    return found


def read_draft(text: str, campaign: str, source: str = "brouillon") -> dict[str, int | float]:
    """A draft parameter file (DECISION D-WHATIF-DRAFT): `valeurs:` maps a parameter of the campaign — its full name
    or its name relative to the campaign — to its draft value. All-or-nothing: every problem named, in French."""
    import yaml

    limit = default_tree().get("limits.whatif_draft_max_chars").values[-1].value
    if len(text) > limit:
        raise SelectionError(f"{source} : brouillon trop long ({len(text)} caractères, {limit} au plus).")
    try:
        # No alias (« &a » / « *a »): a few hundred characters of nested aliases expand to gigabytes once loaded.
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise SelectionError(f"{source} : les alias YAML (« *nom ») ne sont pas acceptés dans un brouillon.")
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SelectionError(f"{source} : YAML illisible ({error.__class__.__name__}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("valeurs"), dict) or not data["valeurs"]:
        raise SelectionError(f"{source} : une table « valeurs: » (paramètre: valeur) est attendue.")
    tree = default_tree()
    prefix = f"esms_numerique/{campaign}/"
    changes: dict[str, int | float] = {}
    problems = []
    for name, value in data["valeurs"].items():
        full = str(name) if str(name).startswith("esms_numerique/") else prefix + str(name)
        try:
            parameter = tree.get(full)
        except (KeyError, ValueError):
            problems.append(f"« {str(name)[:80]} » : paramètre inconnu")
            continue
        if not full.startswith(prefix):
            problems.append(f"« {name} » : ce paramètre n'est pas de la campagne {campaign}")
        elif parameter.unit not in rules.WHATIF_UNITS:
            problems.append(f"« {name} » : seuls les montants, nombres et parts se simulent (unité {parameter.unit})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"« {str(name)[:80]} » : valeur numérique attendue, lu « {str(value)[:80]} »")
        elif parameter.unit == "share" and not 0 <= value <= 1:
            problems.append(f"« {name} » : une part est comprise entre 0 et 1, lu {value}")
        elif parameter.unit != "share" and (value != int(value) or value < 0):
            problems.append(f"« {name} » : un entier positif ou nul est attendu, lu {value}")
        else:
            changes[full] = float(value) if parameter.unit == "share" else int(value)
    if problems:
        raise SelectionError(f"{source} : brouillon refusé, rien n'est rejoué — " + " ; ".join(problems) + ".")
    return changes


def _result_by_sector(result) -> dict[str, int]:
    """A simulation's total by sector, as `split` does for a frozen result (the project's lines follow pro rata)."""
    amounts: Counter[str] = Counter()
    for line in result.lines:
        if line.finess_et:
            amounts[line.finess_et] += line.amount_eur or 0
    fundable = [e for e in result.essms if e.get("fundable", True) and e.get("finess_et")]
    use_amounts = any(amounts[e["finess_et"]] for e in fundable)
    weights: Counter[str] = Counter()
    for e in fundable:
        weights[e.get("sector") or "?"] += amounts[e["finess_et"]] if use_amounts else 1
    return rules.split_eur(result.total_eur, dict(weights))


DESK_LABELS = {"regional": "Guichet régional (ARS)", "national": "Guichet national (CNSA/DNS)", "": "Sans guichet"}


def replay(campaign: str, changes: dict[str, int | float], progress=None) -> dict[str, Any]:
    """Every filed dossier of the campaign run through the rules core twice, on the same input (the grappe, its
    filing date, the registry): with the parameters in force, then with the draft. Totals by desk and pivot region,
    and the dossiers whose amount or admissibility moves. Nothing is written."""
    from esms_numerique.registry.services import complete_from_registry
    from esms_numerique.rules.errors import InputError, parse
    from esms_numerique.rules.inputs import SimulationInput
    from esms_numerique.rules.simulator import simulate

    tree = default_tree()
    draft = rules.draft_tree(tree, changes)
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"dossiers": 0, "before": 0, "after": 0})
    sectors: dict[str, dict[str, int]] = defaultdict(lambda: {"before": 0, "after": 0})
    changed, skipped, count = [], [], 0
    dossiers = Dossier.objects.filter(campaign=campaign).exclude(filed_at=None).order_by("reference")
    for dossier in dossiers.only("reference", "title", "grappe", "filed_at").iterator(chunk_size=500):
        if progress is not None:
            progress(1)
        filed_on = dossier.filed_at.date()
        completed, findings = complete_from_registry({**dossier.grappe, "filed_on": filed_on.isoformat()}, filed_on)
        try:
            data = parse(SimulationInput, completed)
        except InputError as error:
            skipped.append({"reference": dossier.reference, "why": " ; ".join(error.messages)})
            continue
        before = simulate(data, tree, registry_findings=findings, today=filed_on)
        after = simulate(data, draft, registry_findings=findings, today=filed_on)
        count += 1
        row = rows[(before.desk or "", before.pivot_region or "")]
        row["dossiers"] += 1
        row["before"] += before.total_eur
        row["after"] += after.total_eur
        for when, result in (("before", before), ("after", after)):
            for sector, amount in _result_by_sector(result).items():
                sectors[sector][when] += amount
        if (before.total_eur, before.admissible) != (after.total_eur, after.admissible):
            changed.append(
                {
                    "reference": dossier.reference,
                    "title": dossier.title,
                    "before_eur": before.total_eur,
                    "after_eur": after.total_eur,
                    "admissible_before": before.admissible,
                    "admissible_after": after.admissible,
                }
            )
    geo = geography()
    by_region = [
        {
            "desk": desk,
            "desk_label": DESK_LABELS.get(desk, desk),
            "region": region,
            "name": geo.region_name(region),
            **row,
            "difference": row["after"] - row["before"],
        }
        for (desk, region), row in sorted(rows.items())
    ]
    by_desk: dict[str, dict[str, Any]] = {}
    for row in by_region:
        total = by_desk.setdefault(
            row["desk"], {"desk": row["desk"], "desk_label": row["desk_label"], "dossiers": 0, "before": 0, "after": 0}
        )
        for name in ("dossiers", "before", "after"):
            total[name] += row[name]
    by_sector = [
        {"sector": code, "name": SECTOR_LABELS.get(code, code), **row, "difference": row["after"] - row["before"]}
        for code, row in sorted(sectors.items())
    ]
    return {
        "campaign": campaign,
        "changes": changes,
        "dossiers": count,
        "total_before_eur": sum(r["before"] for r in by_region),
        "total_after_eur": sum(r["after"] for r in by_region),
        "by_region": by_region,
        "by_desk": [row | {"difference": row["after"] - row["before"]} for row in by_desk.values()],
        "by_sector": by_sector,
        "changed": changed,
        "skipped": skipped,
    }
