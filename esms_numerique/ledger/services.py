"""The only place that writes the ledger of funded ESSMS, and the questions every cross-dossier rule asks of it:
who else holds this ESSMS, for which kind of funding (E-NO-DOUBLE, S-ONCE; docs/decisions.md, D-LEDGER)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from esms_numerique import clock
from esms_numerique.registry.models import Establishment

from .models import HOLDING, FundedEssms, LedgerState, Scheme

ESMS_NUMERIQUE_KEY = "esms_numerique"
# What a conflict shows and decides on of a ledger row (conflicts, claims_text, conflicts_by_subject).
CLAIM_FIELDS = ("finess_et", "scheme", "funding_key", "operation", "state", "dossier", "order")


def sons_key(couloir: str) -> str:
    """S-ONCE: one Prestation Ségur per ESSMS and per DSR (couloir)."""
    return f"sons:{couloir}"


@dataclass(frozen=True)
class Line:
    finess_et: str
    operation: str
    funding_key: str
    fundable: bool = True
    rank: int | None = None
    amount_eur: int | None = None
    sons_va_signed_on: dt.date | None = None


def lock_essms(finess_ets: set[str]) -> None:
    """Locks the registry rows of these ESSMS until the end of the transaction (PostgreSQL; SQLite serialises
    writers with its immediate transactions): two decisions on one ESSMS run one after the other."""
    list(Establishment.objects.select_for_update().filter(finess_et__in=sorted(finess_ets)).values_list("pk"))


def record(*, scheme: str, state: str, lines: list[Line], dossier=None, order=None) -> None:
    """Writes the subject's rows as they are now; a row holds the funding when the subject is retained, engaged
    or paid and the ESSMS is fundable."""
    subject = {"dossier": dossier} if dossier is not None else {"order": order}
    FundedEssms.objects.filter(**subject).delete()
    owners = dict(
        Establishment.objects.filter(finess_et__in=[line.finess_et for line in lines]).values_list(
            "finess_et", "legal_entity_id"
        )
    )
    now = clock.now()
    FundedEssms.objects.bulk_create(
        [
            FundedEssms(
                **subject,
                finess_et=line.finess_et,
                scheme=scheme,
                funding_key=line.funding_key,
                og_id=owners.get(line.finess_et),
                operation=line.operation,
                fundable=line.fundable,
                rank=line.rank,
                amount_eur=line.amount_eur,
                state=state,
                holds=state in HOLDING and line.fundable,
                sons_va_signed_on=line.sons_va_signed_on,
                updated_at=now,
            )
            for line in {line.finess_et: line for line in lines}.values()
        ]
    )


def _others(dossier=None, order=None) -> QuerySet[FundedEssms]:
    rows = FundedEssms.objects.select_related("dossier", "order")
    if dossier is not None:
        rows = rows.exclude(dossier=dossier)
    if order is not None:
        rows = rows.exclude(order=order)
    return rows


def held_against(lines: list[Line], dossier=None, order=None) -> list[tuple[Line, FundedEssms]]:
    """For each fundable line, the rows of other dossiers or orders that already hold a funding it clashes with."""
    wanted = [line for line in lines if line.fundable]
    if not wanted:
        return []
    held = list(_others(dossier, order).filter(holds=True, finess_et__in={line.finess_et for line in wanted}))
    found = []
    for line in wanted:
        for row in held:
            if row.finess_et == line.finess_et and _forbids(line, row):
                found.append((line, row))
    return found


def _forbids(line: Line, row: FundedEssms) -> bool:
    """The same kind of funding; or an ESMS numérique acquisition against a SONS order (AAP24 3.2.A, FAQN Q35: no
    acquisition of another DUI once the Prestation Ségur is ordered)."""
    if row.funding_key == line.funding_key:
        return True
    if line.funding_key == ESMS_NUMERIQUE_KEY and line.operation == "acquisition":
        return row.scheme == Scheme.SONS
    if line.funding_key.startswith("sons:"):
        return row.scheme == Scheme.ESMS_NUMERIQUE and row.operation == "acquisition"
    return False


def describe(pairs: list[tuple[Line, FundedEssms]]) -> str:
    return " ; ".join(
        f"{line.finess_et} est déjà {row.get_state_display().lower()} dans le {row.subject_label}"
        for line, row in pairs
    )


def filed_elsewhere(finess_ets: set[str], dossier=None) -> dict[str, list[str]]:
    """ESSMS also in another filed dossier, not yet decided: only one of them can be retained."""
    rows = _others(dossier=dossier).filter(
        finess_et__in=finess_ets, scheme=Scheme.ESMS_NUMERIQUE, state=LedgerState.FILED
    )
    found: dict[str, list[str]] = defaultdict(list)
    for row in rows.order_by("dossier__reference"):
        found[row.finess_et].append(row.dossier.reference)
    return dict(found)


def esms_numerique_fundings(finess_ets: set[str], dossier=None) -> list[dict[str, Any]]:
    """The ESMS numérique fundings other dossiers hold, in the shape of the simulator's `previous_fundings`."""
    rows = _others(dossier=dossier).filter(finess_et__in=finess_ets, scheme=Scheme.ESMS_NUMERIQUE, holds=True)
    return [
        {
            "finess_et": row.finess_et,
            "scheme": "esms_numerique",
            "operation": row.operation,
            "year": row.dossier.filed_at.year if row.dossier.filed_at else None,
            "dossier": row.dossier.reference,
        }
        for row in rows
    ]


def sons_facts(finess_ets: set[str]) -> dict[str, dict[str, Any]]:
    """What ESMS numérique must know of these ESSMS' live SONS orders (E-NO-DOUBLE, E-SONS-VA): ordered, and the
    date the OG signed the VA."""
    facts: dict[str, dict[str, Any]] = {}
    for finess, signed in FundedEssms.objects.filter(
        finess_et__in=finess_ets, scheme=Scheme.SONS, holds=True
    ).values_list("finess_et", "sons_va_signed_on"):
        fact = facts.setdefault(finess, {"sons_order": True, "sons_va_date": None})
        if signed and (fact["sons_va_date"] is None or signed < fact["sons_va_date"]):
            fact["sons_va_date"] = signed
    return facts


def conflicts(rows: QuerySet[FundedEssms]) -> dict[str, list[FundedEssms]]:
    """Among `rows` (a scope: an OG, a region, a committee's dossiers), the ESSMS that more than one live dossier
    or order claims in a way that clashes — two ESMS numérique dossiers, or an acquisition and a SONS order —
    with every claim, so that a committee sees them before deciding."""
    live = FundedEssms.objects.exclude(state__in=(LedgerState.RELEASED, LedgerState.PLANNED))
    # A clash needs two live claims: only the ESSMS of the scope claimed twice or more are read, from the ledger's
    # columns and the claimants' references alone (never a dossier's JSON).
    claimed_twice = (
        live.filter(finess_et__in=rows.values("finess_et"))
        .values("finess_et")
        .annotate(claims=Count("id"))
        .filter(claims__gt=1)
        .values("finess_et")
    )
    suspects = (
        live.filter(finess_et__in=claimed_twice)
        .select_related("dossier", "order")
        .only(*CLAIM_FIELDS, "dossier__reference", "order__reference")
    )
    by_finess: dict[str, list[FundedEssms]] = defaultdict(list)
    for row in suspects.order_by("finess_et", "id"):
        by_finess[row.finess_et].append(row)
    found = {}
    for finess, claims in by_finess.items():
        numerique = [r for r in claims if r.scheme == Scheme.ESMS_NUMERIQUE]
        sons = [r for r in claims if r.scheme == Scheme.SONS]
        per_couloir = defaultdict(int)
        for r in sons:
            per_couloir[r.funding_key] += 1
        if (
            len(numerique) > 1
            or (sons and any(r.operation == "acquisition" for r in numerique))
            or any(n > 1 for n in per_couloir.values())
        ):
            found[finess] = claims
    return found


def claims_text(claims: list[FundedEssms]) -> str:
    return ", ".join(f"{c.subject_label} ({c.get_state_display().lower()})" for c in claims)


def conflicts_by_subject(found: dict[str, list[FundedEssms]]) -> dict[tuple[str, int], list[str]]:
    """For each dossier (« dossier », pk) or order (« order », pk) in a conflict: one line per ESSMS it shares,
    naming every claim on it."""
    lines: dict[tuple[str, int], list[str]] = defaultdict(list)
    for finess, claims in sorted(found.items()):
        text = f"{finess} : {claims_text(claims)}"
        for claim in claims:
            key = ("dossier", claim.dossier_id) if claim.dossier_id else ("order", claim.order_id)
            if text not in lines[key]:
                lines[key].append(text)
    return dict(lines)


def receive_recovery(recovery, received_on: dt.date | None, reference: str, actor: str):
    """Records that the money owed back was received (the caller has checked who may); once only."""
    from django.db import transaction

    from esms_numerique.audit.services import record as audit

    from .models import Recovery

    with transaction.atomic():
        locked = Recovery.objects.select_for_update(of=("self",)).select_related("dossier", "order").get(pk=recovery.pk)
        if locked.state != Recovery.State.ISSUED:
            return None
        locked.state = Recovery.State.RECEIVED
        locked.received_on = received_on or clock.today()
        locked.received_reference = reference.strip()
        locked.save()
        subject = ("Dossier", locked.dossier.reference) if locked.dossier_id else ("Order", locked.order.reference)
        audit(actor, "recovery_received", *subject, after={"montant": locked.amount_eur, "référence": reference})
    return locked
