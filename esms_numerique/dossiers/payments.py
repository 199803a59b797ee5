"""Payment requests (advance, balance) and orders to pay back, after the decision (F-PAY). A request is made by
the porteur (the dossier's « demander l'avance / le solde »), approved and then paid by the instructors with the
payment's reference — each step a transition of its own small lifecycle, which moves the dossier when the money
is paid (docs/decisions.md, D-PAYMENT-REQUESTS, D-RECOVERY)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from esms_numerique import clock
from esms_numerique.accounts.enums import Role
from esms_numerique.audit.services import record
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import Recovery
from esms_numerique.rules.payments import balance_due, overpaid
from esms_numerique.workflow.engine import COMMENT, Input, Transition, Workflow, check_allowed, fire

from .access import acting_role
from .models import Dossier, PaymentRequest
from .workflow import INSTRUCTORS, DossierError, StaleDossier
from .workflow import WORKFLOW as DOSSIER

R = PaymentRequest.State
PAYMENT = Workflow(
    "demande de paiement",
    [
        Transition("approuver", "Approuver la demande", frozenset({R.REQUESTED}), R.APPROVED, INSTRUCTORS),
        Transition(
            "verser",
            "Enregistrer le versement",
            frozenset({R.APPROVED}),
            R.PAID,
            INSTRUCTORS,
            inputs=(
                Input("date", "Versé le", "date", help="Aujourd'hui si vide."),
                Input(
                    "payment_reference",
                    "Référence du paiement (Chorus)",
                    "text",
                    required=True,
                    demand="la référence du paiement",
                ),
            ),
            effect="paid",
            then="move_dossier",
        ),
        Transition(
            "refuser",
            "Refuser la demande",
            frozenset({R.REQUESTED, R.APPROVED}),
            R.REFUSED,
            INSTRUCTORS,
            inputs=(COMMENT,),
            then="move_dossier",
            danger=True,
        ),
    ],
    subject_noun="la demande de paiement",
    error=DossierError,
    stale=StaleDossier,
    stale_message="La demande de paiement a été modifiée entre-temps : rechargez la page.",
)


@PAYMENT.effect("paid")
def paid(request: PaymentRequest, data: dict[str, Any]) -> dict[str, Any]:
    return {"paid_on": data.get("date") or clock.today(), "payment_reference": data["payment_reference"]}


@PAYMENT.then("move_dossier")
def move_dossier(request: PaymentRequest, data: dict[str, Any], user) -> None:
    """The dossier follows its payment request: paid → « avance / solde versé(e) », refused → back a step."""
    from .services import apply_transition

    step = {
        (R.PAID, PaymentRequest.Kind.ADVANCE): "verser_avance",
        (R.PAID, PaymentRequest.Kind.BALANCE): "verser_solde",
        (R.REFUSED, PaymentRequest.Kind.ADVANCE): "refuser_avance",
        (R.REFUSED, PaymentRequest.Kind.BALANCE): "refuser_solde",
    }[(request.state, request.kind)]
    dossier = Dossier.objects.get(pk=request.dossier_id)
    apply_transition(user, dossier, step, dossier.version, data.get("comment") or "", via="paiement")


def _open_request(dossier: Dossier, kind: str) -> PaymentRequest | None:
    return dossier.payment_requests.filter(kind=kind).exclude(state=R.REFUSED).order_by("-id").first()


@DOSSIER.then("request_advance")
def request_advance(dossier: Dossier, data: dict[str, Any], user) -> None:
    from .transitions import advance_due

    amount = advance_due(dossier)
    PaymentRequest.objects.create(
        dossier=dossier,
        kind=PaymentRequest.Kind.ADVANCE,
        amount_eur=amount,
        computation={
            "lines": [{"rule": "F-PAY", "label": "Avance sur le montant engagé", "amount_eur": amount, "source": ""}],
            "total_eur": amount,
        },
        requested_by=user,
    )


def balance_computation(dossier: Dossier, equipment_spent: int | None, amoa_spent: int | None):
    return balance_due(
        dossier.engaged_eur or 0,
        dossier.advance_paid_eur or 0,
        (dossier.filed_result or {}).get("lines", []),
        equipment_spent,
        amoa_spent,
    )


@DOSSIER.then("request_balance")
def request_balance(dossier: Dossier, data: dict[str, Any], user) -> None:
    computation = balance_computation(dossier, data.get("equipment_spent_eur"), data.get("amoa_spent_eur"))
    PaymentRequest.objects.create(
        dossier=dossier,
        kind=PaymentRequest.Kind.BALANCE,
        amount_eur=computation.total_eur,
        computation=computation.as_dict(),
        equipment_spent_eur=data.get("equipment_spent_eur"),
        amoa_spent_eur=data.get("amoa_spent_eur"),
        requested_by=user,
    )


@DOSSIER.effect("pay_advance")
def pay_advance(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    request = _open_request(dossier, PaymentRequest.Kind.ADVANCE)
    return {"advance_paid_eur": request.amount_eur, "advance_paid_on": request.paid_on}


@DOSSIER.effect("pay_balance")
def pay_balance(dossier: Dossier, data: dict[str, Any]) -> dict[str, Any]:
    request = _open_request(dossier, PaymentRequest.Kind.BALANCE)
    return {"expenses_statement": True, "balance_paid_eur": request.amount_eur, "balance_paid_on": request.paid_on}


def paid_eur(dossier: Dossier) -> int:
    return (dossier.advance_paid_eur or 0) + (dossier.balance_paid_eur or 0)


def issue_recovery(dossier: Dossier, due_eur: int, reason: str, actor: str, rule: str = "F-PAY") -> Recovery | None:
    """An order to pay back what was paid beyond what is now due (D-RECOVERY); nothing when nothing is owed."""
    amount = overpaid(paid_eur(dossier) - _recovered(dossier), due_eur)
    if not amount:
        return None
    recovery = Recovery.objects.create(dossier=dossier, amount_eur=amount, reason=reason, rule=rule, issued_by=actor)
    record(actor, "issue_recovery", "Dossier", dossier.reference, after={"montant": amount}, reason=reason)
    return recovery


def _recovered(dossier: Dossier) -> int:
    return sum(dossier.recoveries.values_list("amount_eur", flat=True))


@DOSSIER.then("recover_paid")
def recover_paid(dossier: Dossier, data: dict[str, Any], user) -> None:
    """Abandoned after a payment: everything paid is owed back."""
    issue_recovery(dossier, 0, f"Abandon du projet : {data.get('comment', '')}".strip(), user.get_username())


@DOSSIER.guard("recoveries_settled")
def recoveries_settled(dossier: Dossier, data: dict[str, Any]) -> None:
    open_ = dossier.recoveries.filter(state=Recovery.State.ISSUED)
    if open_.exists():
        total = sum(open_.values_list("amount_eur", flat=True))
        raise DossierError(f"Un ordre de reversement de {total} € reste à recouvrer : le dossier ne se clôt pas.")


def apply_payment_transition(
    user, request: PaymentRequest, name: str, expected_version: int, data: dict
) -> PaymentRequest:
    role = acting_role(user, request.dossier)
    transition = check_allowed(PAYMENT, request, name, role if role in INSTRUCTORS else None)

    def audit(changed: PaymentRequest, before: dict[str, Any], after: dict[str, Any]) -> None:
        record(
            user.get_username(),
            f"payment:{name}",
            "Dossier",
            request.dossier.reference,
            before=before,
            after={**after, "demande": changed.get_kind_display(), "montant": changed.amount_eur},
            reason=data.get("comment", ""),
        )

    return fire(PAYMENT, request, transition, user, expected_version, data, None, audit)


def record_recovery_received(user, recovery: Recovery, received_on, reference: str) -> Recovery:
    """The instructors record that the money owed back was received."""
    if recovery.dossier_id is None or acting_role(user, recovery.dossier) not in (Role.ARS, Role.NATIONAL):
        raise PermissionDenied("Seuls les instructeurs du dossier enregistrent un reversement.")
    received = ledger.receive_recovery(recovery, received_on, reference, user.get_username())
    if received is None:
        raise DossierError("Ce reversement est déjà enregistré.")
    return received
