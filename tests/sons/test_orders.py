"""SONS orders: the barème on the registry, the lifecycle from signature to balance, and every refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from esms_numerique.audit.services import verify_chain
from esms_numerique.dossiers.evaluation import record_ledger
from esms_numerique.sons.models import Order, Solution
from esms_numerique.sons.services import (
    ItemRequest,
    OrderError,
    apply_order_transition,
    record_va,
    sign_order,
)
from esms_numerique.sons.workflow import OrderState

from .conftest import ESSMS, HOSPITAL, OG

pytestmark = pytest.mark.django_db

YES = dict.fromkeys(("va_no_acquisition_funding", "va_prestation_done", "va_tbb1", "va_dui_indicators"), True)


def items(numbers):
    return [ItemRequest(n, "4.2", "5.0") for n in numbers]


def sign(world, numbers=ESSMS, ordered_on=dt.date(2023, 5, 1), solution=None):
    return sign_order(world["editeur"], world["og"], solution or world["solution"], "PA", ordered_on, items(numbers))


def step(user, order, name, comment=""):
    return apply_order_transition(user, order, name, order.version, comment)


def test_the_seed_example_and_the_whole_flow(world):
    order = sign(world)
    assert (order.og_essms_count, order.result["tranche"], order.result["total_eur"]) == (35, "E", 43120)
    assert order.result["advance_eur"] == 12936
    order = step(world["editeur"], order, "demander_avance")
    order = step(world["cnsa"], order, "verser_avance")
    order = step(world["editeur"], order, "declarer_prestation")
    with pytest.raises(OrderError, match="VA incomplète"):
        step(world["og_user"], order, "signer_va")
    for number in ESSMS:
        record_va(world["og_user"], order, number, YES)
    order = step(world["og_user"], order, "signer_va")
    order = step(world["editeur"], order, "demander_solde")
    order = step(world["cnsa"], order, "verser_solde")
    order = step(world["cnsa"], order, "controler")
    assert order.state == OrderState.CONTROLE
    assert order.transitions.count() == 7
    assert verify_chain() == []


def test_a_no_in_the_va_holds_the_balance(world):
    order = sign(world, ESSMS[:3])
    for name, who in (("demander_avance", "editeur"), ("verser_avance", "cnsa"), ("declarer_prestation", "editeur")):
        order = step(world[who], order, name)
    record_va(world["og_user"], order, ESSMS[0], YES)
    record_va(world["og_user"], order, ESSMS[1], YES)
    record_va(world["og_user"], order, ESSMS[2], {**YES, "va_tbb1": False})
    order = step(world["og_user"], order, "signer_va")
    with pytest.raises(OrderError, match=f"Solde retenu : la VA porte un « non » pour {ESSMS[2]}"):
        step(world["editeur"], order, "demander_solde")
    order.refresh_from_db()
    assert order.state == OrderState.VA_SIGNEE


def test_balance_without_va_is_refused(world):
    order = step(world["editeur"], sign(world, ESSMS[:2]), "demander_avance")
    with pytest.raises(OrderError, match="impossible quand la commande est « Avance demandée »"):
        step(world["editeur"], order, "demander_solde")


def test_cancellation_by_attestation_before_the_balance_only(world):
    order = sign(world, ESSMS[:2])
    with pytest.raises(OrderError, match="attestation"):
        step(world["og_user"], order, "annuler")
    order = step(world["og_user"], order, "annuler", "Changement de projet")
    assert order.state == OrderState.ANNULEE
    # a cancelled order frees its ESSMS
    assert sign(world, ESSMS[:2]).state == OrderState.SIGNEE


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("twice", "S-ONCE"),
        ("after closing", "après la fermeture des commandes"),
        ("hospital", "n'a pas de secteur du programme"),
        ("other og", f"n'est pas géré par l'OG client ({OG})"),
        ("not equipped", "déjà équipé d'un DUI"),
    ],
)
def test_bad_orders_are_refused_and_change_nothing(world, case, message):
    if case == "twice":
        sign(world, ESSMS[:2])
    before = Order.objects.count()
    with pytest.raises(OrderError) as refused:
        if case == "twice":
            sign(world, ESSMS[1:3])
        elif case == "after closing":
            sign(world, ESSMS[:2], ordered_on=dt.date(2024, 1, 11))
        elif case == "hospital":
            sign(world, [HOSPITAL])
        elif case == "other og":
            sign(world, ["290000017"])
        else:
            sign_order(
                world["editeur"],
                world["og"],
                world["solution"],
                "PA",
                dt.date(2023, 5, 1),
                [ItemRequest(ESSMS[0], "", "5.0")],
            )
    assert message in str(refused.value)
    assert str(refused.value).startswith("Commande refusée")
    assert Order.objects.count() == before


def test_an_editor_acts_on_its_own_orders_only(world):
    order = sign(world, ESSMS[:2])
    with pytest.raises(PermissionDenied):
        step(world["autre_editeur"], order, "demander_avance")
    with pytest.raises(PermissionDenied):
        sign_order(world["autre_editeur"], world["og"], world["solution"], "PA", dt.date(2023, 5, 1), items(ESSMS[2:3]))
    with pytest.raises(PermissionDenied):
        record_va(world["editeur"], order, ESSMS[0], YES)


def test_an_order_before_referencing_has_120_days(world, settings):
    pending = Solution.objects.create(editor=world["solution"].editor, name="DUI", version="6.0", couloir="MS1")
    order = sign(world, ESSMS[:1], solution=pending)
    finding = next(f for f in order.result["findings"] if f["rule"] == "S-PENDING")
    assert finding["verdict"] == "a_apprecier"
    assert "avant le 29/08/2023" in finding["message"]
    settings.ESMS_TODAY = "2023-09-01"
    with pytest.raises(OrderError, match="risque d'annulation, l'OG doit en être informé"):
        sign(world, ESSMS[1:2], solution=pending, ordered_on=dt.date(2023, 5, 1))


def test_no_prestation_segur_for_an_essms_funded_to_acquire_another_dui(world):
    from esms_numerique.dossiers.models import Dossier

    funded = Dossier.objects.create(
        reference="ESMS-2022-00001",
        title="Acquisition",
        campaign="2022",
        porteur=world["og"],
        created_by=world["og_user"],
        state="convention_signee",
        filed_at=dt.datetime(2022, 5, 2, tzinfo=dt.UTC),
        filed_result={
            "essms": [
                {"finess_et": ESSMS[0], "operation": "acquisition", "fundable": True},
                {"finess_et": ESSMS[1], "operation": "upgrade", "fundable": True},
            ]
        },
    )
    record_ledger(funded)  # what the dossier services write at each decision
    with pytest.raises(OrderError, match="ESMS-2022-00001"):
        sign(world, ESSMS[:1])
    assert sign(world, ESSMS[1:2]).state == OrderState.SIGNEE  # an upgrade goes with the Prestation Ségur


def test_a_stale_order_is_not_overwritten(world):
    """Optimistic locking: two pages opened on the same version, the second change is refused and nothing moves."""
    order = sign(world, ESSMS[:2])
    opened = order.version
    order = apply_order_transition(world["editeur"], order, "demander_avance", opened)
    stale = Order.objects.get(pk=order.pk)
    with pytest.raises(OrderError, match="La commande a été modifiée entre-temps"):
        apply_order_transition(world["cnsa"], stale, "verser_avance", opened)
    stale.refresh_from_db()
    assert (stale.state, stale.version, stale.transitions.count()) == (OrderState.AVANCE_DEMANDEE, opened + 1, 1)
