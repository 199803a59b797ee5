"""The only place that changes SONS orders: signature with the rules applied live, the order's lifecycle and
the VA. A refused order or step changes nothing; every change is logged and audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from esms_numerique import clock
from esms_numerique.accounts.access import access_of
from esms_numerique.audit.services import record
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import LedgerState, Recovery, Scheme
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.registry.services import og_essms_count, registry_snapshot
from esms_numerique.rules.inputs import SonsInput
from esms_numerique.rules.money import format_eur, format_share, share_eur
from esms_numerique.rules.parameters import default_tree
from esms_numerique.rules.results import Finding, Verdict
from esms_numerique.rules.sons import couloir_eligibility, simulate_sons
from esms_numerique.workflow.engine import check_allowed, fire, next_number

from .access import actor_of
from .models import Order, OrderItem, Solution
from .workflow import ADVANCE_PAID, WORKFLOW, Actor, OrderError, OrderState

SRC_ELIG = "HDF22 « Systeme Ouvert Non Sélectif — POUR QUI ? » (000_69ee26d990822291.txt) ; SONS23"
SRC_PENDING = "SONS23 « Calendrier de dépôt des commandes » (004_3ca1a05999d1de3a.txt) ; FAQIDF (4 mois)"
SRC_DOUBLE = "AAP24 3.2.A (001_098b5f25fa5a095c.txt) ; FAQN Q35 ; bon de commande SONS23 (mention d'information)"
SRC_ONCE = "SONS23 ; FAQIDF « Pour un FINESS Géographique donné… » (003_602b4b7069bd7466.txt)"


__all__ = ["OrderError"]


@dataclass(frozen=True)
class ItemRequest:
    finess_et: str
    current_version: str
    target_version: str


def _param(name: str, on: dt.date):
    return default_tree().get(name).in_force(on)


def _barème_by_client(
    clients: list[LegalEntity], groups: dict[int, list[str]], solution: Solution, sector: str, ordered_on: dt.date
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """S-BAREME for each client OG on its own count of ESSMS in the registry extract in force at the order date
    (an order for several OGs pays each OG's ESSMS at that OG's tranche)."""
    snapshot = registry_snapshot(ordered_on)
    on = snapshot.snapshot_date if snapshot else ordered_on
    rows, findings, seen = [], [], set()
    for client in clients:
        numbers = groups.get(client.id)
        if not numbers:
            continue
        count = og_essms_count(client.finess_ej, on)
        group = simulate_sons(
            SonsInput(
                couloir=solution.couloir,
                sector=sector or None,
                og_essms_count=max(count, 1),
                finess_et=numbers,
                ordered_on=ordered_on,
            )
        ).as_dict()
        rows.append(
            {
                "finess_ej": client.finess_ej,
                "name": client.name,
                "og_essms_count": count,
                "tranche": group["tranche"],
                "rate_eur": group["rate_eur"],
                "essms_count": group["essms_count"],
                "total_eur": group["total_eur"],
            }
        )
        for finding in group["findings"]:
            key = (finding["rule"], finding["message"], finding.get("finess_et"))
            if finding["rule"] != "S-FLOW" and key not in seen:
                seen.add(key)
                findings.append(Finding(**{**finding, "verdict": Verdict(finding["verdict"])}))
    return rows, findings


def check_order(
    og: LegalEntity,
    solution: Solution,
    sector: str,
    ordered_on: dt.date,
    items: list[ItemRequest],
    exclude: Order | None = None,
    other_ogs: tuple[LegalEntity, ...] = (),
) -> tuple[dict[str, Any], list[Establishment]]:
    """Runs S-BAREME, S-ONCE, S-CALENDAR (rules core) and the checks that need the platform: S-ELIG (the ESSMS's
    sector in the registry against the couloir), S-PENDING, the ESSMS belonging to the client OGs, S-ONCE across
    orders and E-NO-DOUBLE with ESMS numérique (the ledger)."""
    clients = [og, *other_ogs]
    establishments = {e.finess_et: e for e in Establishment.objects.filter(finess_et__in=[i.finess_et for i in items])}
    findings: list[Finding] = []
    groups: dict[int, list[str]] = {}
    for item in items:
        establishment = establishments.get(item.finess_et)
        if establishment is None:
            findings.append(
                Finding("S-ELIG", Verdict.BLOQUANT, "ESSMS inconnu du répertoire FINESS.", SRC_ELIG, item.finess_et)
            )
            continue
        if establishment.legal_entity_id not in {c.id for c in clients}:
            owners = ", ".join(c.finess_ej for c in clients)
            findings.append(
                Finding(
                    "S-ELIG",
                    Verdict.BLOQUANT,
                    f"Cet ESSMS n'est pas géré par l'OG client ({owners}).",
                    SRC_ELIG,
                    item.finess_et,
                )
            )
        else:
            groups.setdefault(establishment.legal_entity_id, []).append(item.finess_et)
        if not item.current_version.strip():
            findings.append(
                Finding(
                    "S-ELIG",
                    Verdict.BLOQUANT,
                    "La Prestation Ségur ne concerne qu'un ESSMS déjà équipé d'un DUI : indiquez sa version installée.",
                    SRC_ELIG,
                    item.finess_et,
                )
            )
    findings += couloir_eligibility(
        solution.couloir,
        sector or None,
        [
            {
                "finess_et": e.finess_et,
                "sector": e.effective_sector,
                "category": e.category,
                "category_label": e.category_label,
            }
            for e in establishments.values()
        ],
        ordered_on,
    )
    rows, rule_findings = _barème_by_client(clients, groups, solution, sector, ordered_on)
    findings = rule_findings + findings
    findings += _held_elsewhere(solution, items, exclude)
    findings += pending_referencing(solution, ordered_on)
    totals = [row["total_eur"] for row in rows]
    total = sum(totals) if rows and None not in totals else None
    share = _param("sons/flow.advance_share", ordered_on)
    advance = share_eur(total, share.value) if total is not None else None
    single = rows[0] if len(rows) == 1 else {}
    result = {
        "couloir": solution.couloir,
        "clients": rows,
        "tranche": single.get("tranche"),
        "rate_eur": single.get("rate_eur"),
        "essms_count": sum(row["essms_count"] for row in rows),
        "og_essms_count": rows[0]["og_essms_count"] if rows else 0,
        "total_eur": total,
        "advance_eur": advance,
        "balance_eur": None if total is None else total - advance,
        "findings": [f.as_dict() for f in findings],
    }
    if total is not None:
        result["findings"].append(
            Finding(
                "S-FLOW",
                Verdict.OK,
                f"{result['essms_count']} ESSMS, {format_eur(total)} TTC payés à l'éditeur par l'ASP : avance de "
                f"{format_share(share.value)} ({format_eur(advance)}), solde ({format_eur(total - advance)}) "
                "après la VA.",
                str(share.reference),
            ).as_dict()
        )
    return result, list(establishments.values())


def _lines(couloir: str, finess_ets: list[str], va_signed_on: dt.date | None = None) -> list[ledger.Line]:
    return [
        ledger.Line(
            finess_et=finess,
            operation="prestation_segur",
            funding_key=ledger.sons_key(couloir),
            sons_va_signed_on=va_signed_on,
        )
        for finess in finess_ets
    ]


def _held_elsewhere(solution: Solution, items: list[ItemRequest], exclude: Order | None) -> list[Finding]:
    """S-ONCE across orders (one Prestation Ségur per ESSMS and couloir) and E-NO-DOUBLE (an ESSMS funded by ESMS
    numérique for the acquisition of a DUI cannot order the Prestation Ségur of another one), from the ledger."""
    findings = []
    for line, row in ledger.held_against(_lines(solution.couloir, [i.finess_et for i in items]), order=exclude):
        if row.scheme == Scheme.SONS:
            findings.append(
                Finding(
                    "S-ONCE",
                    Verdict.BLOQUANT,
                    f"Une Prestation Ségur {solution.couloir} est déjà commandée pour cet ESSMS "
                    f"(commande {row.subject_reference}).",
                    SRC_ONCE,
                    line.finess_et,
                )
            )
        else:
            findings.append(
                Finding(
                    "E-NO-DOUBLE",
                    Verdict.BLOQUANT,
                    f"Cet ESSMS est financé par ESMS numérique pour l'acquisition d'un DUI (dossier "
                    f"{row.subject_reference}) : il ne peut pas commander la Prestation Ségur d'un autre.",
                    SRC_DOUBLE,
                    line.finess_et,
                )
            )
    return findings


def record_ledger(order: Order, *_: Any) -> None:
    """The order's ESSMS in the ledger: held from the signature until a cancellation releases them."""
    if order.state == OrderState.ANNULEE:
        state = LedgerState.RELEASED
    elif order.state in (OrderState.SIGNEE, OrderState.AVANCE_DEMANDEE):
        state = LedgerState.ENGAGED
    else:
        state = LedgerState.PAID
    finess = list(order.items.values_list("establishment__finess_et", flat=True))
    ledger.record(scheme=Scheme.SONS, state=state, lines=_lines(order.couloir, finess, order.va_signed_on), order=order)


def pending_referencing(solution: Solution, ordered_on: dt.date) -> list[Finding]:
    """S-PENDING: an order may precede referencing if the complete proof file reaches the ANS within 120 days."""
    days = _param("sons/flow.pending_referencing_days", ordered_on)
    if solution.referencing == Solution.Referencing.REFERENCED:
        return []
    if solution.referencing == Solution.Referencing.REFUSED:
        return [
            Finding("S-PENDING", Verdict.BLOQUANT, "La solution a été refusée au référencement Ségur.", SRC_PENDING)
        ]
    deadline = ordered_on + dt.timedelta(days=days.value)
    if solution.proof_sent_on and solution.proof_sent_on <= deadline:
        return [
            Finding(
                "S-PENDING",
                Verdict.A_APPRECIER,
                f"Solution en cours de référencement ; dossier complet de preuves déposé à l'ANS le "
                f"{solution.proof_sent_on:%d/%m/%Y}, dans les {days.value} jours.",
                f"{days.reference}",
            )
        ]
    if clock.today() > deadline:
        return [
            Finding(
                "S-PENDING",
                Verdict.BLOQUANT,
                f"Le dossier complet de preuves n'a pas été déposé à l'ANS dans les {days.value} jours "
                f"(avant le {deadline:%d/%m/%Y}) : la commande est en risque d'annulation, l'OG doit en "
                "être informé.",
                f"{days.reference}",
            )
        ]
    return [
        Finding(
            "S-PENDING",
            Verdict.A_APPRECIER,
            f"Solution non encore référencée : l'éditeur doit déposer le dossier complet de preuves à "
            f"l'ANS avant le {deadline:%d/%m/%Y}, faute de quoi la commande est en risque.",
            f"{days.reference}",
        )
    ]


def couloir_calendar(order: Order) -> dict[str, Any] | None:
    """The order's row of the SONS calendar (S-CALENDAR): dates and appel à financement reference. The couloir's
    rows for the sectors of the order's ESSMS (from the registry), the earliest dates when they differ."""
    sectors = {order.sector} if order.sector else set()
    if not sectors:
        sectors = {
            e.effective_sector
            for e in Establishment.objects.filter(sons_items__order=order).only("sector", "sector_override")
        }
    rows = [
        row
        for row in _param("sons/calendar.couloirs", order.ordered_on).value
        if row["couloir"] == order.couloir and (not sectors or sectors & set(row["sectors"]))
    ]
    return min(rows, key=lambda row: (row["orders_close"], row["balance_close"])) if rows else None


def _refuse_if_blocking(result: dict[str, Any]) -> None:
    blocking = [f for f in result["findings"] if f["verdict"] == "bloquant"]
    if blocking:
        raise OrderError(
            "Commande refusée : "
            + " ; ".join(
                f"{f['rule']}{' ' + f['finess_et'] if f.get('finess_et') else ''} — {f['message']}" for f in blocking
            )
        )


def _audit(user, action: str, order: Order, **fields: Any) -> None:
    record(user.get_username(), action, "Order", order.reference, **fields)


def sign_order(
    user,
    og: LegalEntity,
    solution: Solution,
    sector: str,
    ordered_on: dt.date,
    items: list[ItemRequest],
    other_ogs: tuple[LegalEntity, ...] = (),
) -> Order:
    """The éditeur records the order the OG signed (with other client OGs: « cas B, plusieurs OG », the first
    OG signing for them); refused, with every reason, when a rule blocks it. Checks and writes run in one
    transaction with the ESSMS locked, and the ledger's constraint backs S-ONCE."""
    access = access_of(user)
    if access.editor is None or access.editor != solution.editor_id:
        raise PermissionDenied("Seul l'éditeur de la solution enregistre une commande de sa Prestation Ségur.")
    if not items:
        raise OrderError("Commande refusée : aucun ESSMS commandé.")
    try:
        with transaction.atomic():
            ledger.lock_essms({i.finess_et for i in items})
            result, establishments = check_order(og, solution, sector, ordered_on, items, other_ogs=tuple(other_ogs))
            _refuse_if_blocking(result)
            by_finess = {e.finess_et: e for e in establishments}
            couloir = solution.couloir
            order = Order.objects.create(
                reference=f"BC-{couloir}-{next_number(f'BC-{couloir}'):05d}",
                og=og,
                solution=solution,
                sector=sector,
                ordered_on=ordered_on,
                og_essms_count=result["og_essms_count"],
                result=result,
                created_by=user,
            )
            order.other_ogs.set(other_ogs)
            OrderItem.objects.bulk_create(
                [
                    OrderItem(
                        order=order,
                        establishment=by_finess[i.finess_et],
                        current_version=i.current_version,
                        target_version=i.target_version,
                    )
                    for i in items
                ]
            )
            record_ledger(order)
            _audit(
                user,
                "sign_order",
                order,
                after={"og": og.finess_ej, "essms": [i.finess_et for i in items], "total_eur": result["total_eur"]},
            )
    except IntegrityError:
        raise OrderError(
            "Commande refusée : une autre commande vient d'être enregistrée pour l'un de ces ESSMS (S-ONCE) ; "
            "rechargez la page."
        ) from None
    return order


def record_va(user, order: Order, finess_et: str, answers: dict[str, bool]) -> OrderItem:
    """The OG answers the four VA columns for one ESSMS once the prestation is done."""
    if actor_of(user, order) != Actor.OG:
        raise PermissionDenied("Seul l'OG signe la VA de sa commande.")
    unknown = set(answers) - set(OrderItem.VA_FIELDS)
    if unknown:
        raise OrderError(f"Colonnes de VA inconnues : {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        # The order's row locked: a VA answer and the VA's signature never cross.
        state = Order.objects.select_for_update().values_list("state", flat=True).get(pk=order.pk)
        if state != OrderState.PRESTATION_REALISEE:
            raise OrderError("La VA se remplit une fois la prestation déclarée réalisée.")
        item = order.items.filter(establishment__finess_et=finess_et).first()
        if item is None:
            raise OrderError(f"L'ESSMS {finess_et} n'est pas dans la commande {order.reference}.")
        for name, value in answers.items():
            setattr(item, name, bool(value))
        item.save()
        _audit(user, "record_va", order, after={"essms": finess_et, **answers})
    return item


@WORKFLOW.guard("advance_window")
def advance_window(order: Order, data: dict[str, Any]) -> None:
    """S-CALENDAR: advance requests are received by the ASP until the couloir's « fermeture des commandes »."""
    row = couloir_calendar(order)
    today = clock.today()
    if row and today > row["orders_close"]:
        forecast = " (date prévisionnelle)" if row["forecast"] else ""
        raise OrderError(
            f"S-CALENDAR — les demandes d'avance du couloir {order.couloir} sont closes depuis le "
            f"{row['orders_close']:%d/%m/%Y}{forecast} (SONS23, « fin de la réception par l'ASP des demandes de "
            "paiement (avance) »)."
        )


@WORKFLOW.guard("balance_window")
def balance_window(order: Order, data: dict[str, Any]) -> None:
    row = couloir_calendar(order)
    if row and clock.today() > row["balance_close"]:
        raise OrderError(
            f"S-CALENDAR — les demandes de solde du couloir {order.couloir} sont closes depuis le "
            f"{row['balance_close']:%d/%m/%Y}."
        )


@WORKFLOW.guard("va_answered")
def va_answered(order: Order, data: dict[str, Any]) -> None:
    missing = [
        i.establishment.finess_et
        for i in order.items.select_related("establishment")
        if any(getattr(i, f) is None for f in OrderItem.VA_FIELDS)
    ]
    if missing:
        raise OrderError("VA incomplète pour : " + ", ".join(missing) + ".")


@WORKFLOW.guard("va_all_yes")
def va_all_yes(order: Order, data: dict[str, Any]) -> None:
    held = [i.establishment.finess_et for i in order.items.select_related("establishment") if not i.va_complete]
    if held:
        raise OrderError("Solde retenu : la VA porte un « non » pour " + ", ".join(held) + ".")


@WORKFLOW.effect("pay_advance")
def pay_advance(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "advance_paid_eur": order.result.get("advance_eur") or 0,
        "advance_paid_on": data.get("date") or clock.today(),
        "advance_payment_reference": data.get("payment_reference") or "",
    }


@WORKFLOW.effect("pay_balance")
def pay_balance(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "balance_paid_eur": order.result.get("balance_eur") or 0,
        "balance_paid_on": data.get("date") or clock.today(),
        "balance_payment_reference": data.get("payment_reference") or "",
    }


@WORKFLOW.effect("sign_va")
def sign_va(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    return {"va_signed_on": clock.today()}


@WORKFLOW.effect("cancel")
def cancel(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    """D-SONS-RECOVERY: an order cancelled after its advance was paid owes that advance back (the ASP recovers
    it from the éditeur); the amount is recorded on the order, shown to the CNSA/ASP and in the exports."""
    paid = order.advance_paid_eur or (order.result.get("advance_eur") if order.state in ADVANCE_PAID else None)
    return {"recovery_eur": paid or None}


@WORKFLOW.then("issue_recovery")
def issue_recovery(order: Order, data: dict[str, Any], user) -> None:
    """The advance of a cancelled order is owed back: an order to pay back, followed until received (D-RECOVERY)."""
    if order.recovery_eur:
        Recovery.objects.create(
            order=order,
            amount_eur=order.recovery_eur,
            reason=f"Commande annulée après le versement de l'avance : {data.get('comment', '')}".strip(),
            rule="S-FLOW",
            issued_by=user.get_username(),
        )


def record_recovery_received(user, recovery: Recovery, received_on: dt.date | None, reference: str) -> Recovery:
    """The national instructors, for the ASP, record that an order's advance was paid back."""
    if recovery.order_id is None or actor_of(user, recovery.order) != Actor.PAYEUR:
        raise PermissionDenied("Seule la CNSA/DNS (pour l'ASP) enregistre un reversement.")
    received = ledger.receive_recovery(recovery, received_on, reference, user.get_username())
    if received is None:
        raise OrderError("Ce reversement est déjà enregistré.")
    return received


def next_deadline(order: Order) -> dict[str, Any] | None:
    """The order's next deadline: the proof file at the ANS within 120 days when the solution is not referenced
    (S-PENDING), the couloir's last day for the advance request, then for the balance request (S-CALENDAR)."""
    if order.state in (OrderState.ANNULEE, OrderState.SOLDE_DEMANDE, OrderState.SOLDE_VERSE, OrderState.CONTROLE):
        return None
    candidates = []
    if order.solution.referencing not in (Solution.Referencing.REFERENCED, Solution.Referencing.PROOF_SENT):
        days = _param("sons/flow.pending_referencing_days", order.ordered_on).value
        candidates.append((order.ordered_on + dt.timedelta(days=days), "preuves de conformité à l'ANS (S-PENDING)"))
    row = couloir_calendar(order)
    if row and order.state == OrderState.SIGNEE:
        candidates.append((row["orders_close"], "demande d'avance (S-CALENDAR)"))
    elif row:
        candidates.append((row["balance_close"], "demande de solde (S-CALENDAR)"))
    if not candidates:
        return None
    due, label = min(candidates)
    return {"due": due, "label": label, "overdue": clock.today() > due}


def apply_order_transition(
    user, order: Order, name: str, expected_version: int, comment: str = "", data: dict[str, Any] | None = None
) -> Order:
    transition = check_allowed(WORKFLOW, order, name, actor_of(user, order))

    def audit(changed: Order, before: dict[str, Any], after: dict[str, Any]) -> None:
        _audit(user, f"order:{name}", changed, before=before, after=after, reason=comment)

    inputs = {**(data or {}), "comment": comment}
    return fire(WORKFLOW, order, transition, user, expected_version, inputs, record_ledger, audit)
