"""Issue 9, SONS: couloirs serve the sectors the registry gives (S-ELIG), the advance and balance requests close
with their couloir's calendar (S-CALENDAR), and a cancellation after the advance records what is owed."""

from __future__ import annotations

import datetime as dt

import pytest

from esms_numerique.ledger.models import FundedEssms
from esms_numerique.registry.services import import_extracts
from esms_numerique.sons.models import Order, Solution
from esms_numerique.sons.services import OrderError, apply_order_transition, sign_order
from esms_numerique.sons.workflow import OrderState
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for

from .conftest import ESSMS, OG

pytestmark = pytest.mark.django_db

# One ESSMS per category the issue names, all of the OG of the world (35 EHPAD-like ESSMS already there).
CASES = {
    "CHRS": ("214", "AHI", "MS3"),
    "CADA": ("443", "AHI", "MS3"),
    "CSAPA": ("197", "PDS", "MS2"),
    "mandataire": ("340", "PJM", "MS3"),
    "MECS": ("177", "PDE", "MS2"),
}
FINESS = {name: finess_for("35", 500 + n) for n, name in enumerate(CASES)}


@pytest.fixture
def sectors_world(world):
    lines = [et_line(f, finess_ej=OG) for f in ESSMS]
    lines += [et_line(FINESS[name], finess_ej=OG, category=category) for name, (category, _, _) in CASES.items()]
    import_extracts("et.csv", extract(*lines, meta="finess;etalab;2;2023-04-03"))
    editor = world["solution"].editor
    for couloir in ("MS2", "MS3"):
        world[couloir] = Solution.objects.create(
            editor=editor, name=f"DUI {couloir}", version="1", couloir=couloir, referencing="reference"
        )
    world["MS1"] = world["solution"]
    return world


def items(numbers):
    from esms_numerique.sons.services import ItemRequest

    return [ItemRequest(n, "4.2", "5.0") for n in numbers]


def order(world, couloir, numbers, sector="", on=dt.date(2023, 5, 1)):
    return sign_order(world["editeur"], world["og"], world[couloir], sector, on, items(numbers))


@pytest.mark.parametrize("name", ["CHRS", "CADA", "CSAPA", "mandataire"])
def test_an_ms1_order_refuses_an_essms_of_another_sector_even_with_the_sector_left_blank(sectors_world, name):
    category, _sector, right = CASES[name]
    with pytest.raises(OrderError) as refused:
        order(sectors_world, "MS1", [ESSMS[0], FINESS[name]])
    message = str(refused.value)
    assert "S-ELIG" in message and FINESS[name] in message and f"catégorie {category}" in message, message
    assert right in message, message
    assert not Order.objects.exists() and not FundedEssms.objects.exists()


def test_a_typed_sector_may_only_agree_with_the_registry(sectors_world):
    with pytest.raises(OrderError, match="S-ELIG"):
        order(sectors_world, "MS3", [FINESS["CHRS"]], sector="PJM")
    assert order(sectors_world, "MS3", [FINESS["CHRS"]], sector="AHI").state == OrderState.SIGNEE


def test_a_mecs_is_ordered_in_ms2_pde_and_a_chrs_in_ms3(sectors_world):
    mecs = order(sectors_world, "MS2", [FINESS["MECS"]])
    chrs = order(sectors_world, "MS3", [FINESS["CHRS"], FINESS["CADA"]])
    assert (mecs.state, chrs.state) == (OrderState.SIGNEE, OrderState.SIGNEE)
    assert mecs.reference == "BC-MS2-00001" and chrs.reference == "BC-MS3-00001"
    # D-SONS-BAREME: MS2/MS3 amounts are not in the texts, the order is possible all the same.
    assert mecs.result["total_eur"] is None
    rows = FundedEssms.objects.filter(order=chrs)
    assert sorted(rows.values_list("finess_et", "funding_key", "holds")) == sorted(
        [(FINESS["CHRS"], "sons:MS3", True), (FINESS["CADA"], "sons:MS3", True)]
    )


def test_an_advance_requested_after_its_couloir_closed_is_refused(sectors_world, settings):
    signed = order(sectors_world, "MS1", ESSMS[:3], on=dt.date(2023, 12, 20))
    settings.ESMS_TODAY = "2024-03-11"  # MS1 advance requests closed on 10/01/2024 (SONS23)
    with pytest.raises(
        OrderError, match=r"S-CALENDAR .* demandes d'avance du couloir MS1 sont closes depuis le 10/01/2024"
    ):
        apply_order_transition(sectors_world["editeur"], signed, "demander_avance", signed.version)
    signed.refresh_from_db()
    assert signed.state == OrderState.SIGNEE and signed.transitions.count() == 0
    settings.ESMS_TODAY = "2024-01-10"  # the last day still receives it
    assert apply_order_transition(sectors_world["editeur"], signed, "demander_avance", signed.version).state == (
        OrderState.AVANCE_DEMANDEE
    )


def test_a_cancellation_after_the_advance_records_the_amount_to_recover_and_frees_the_essms(sectors_world):
    editor, cnsa, og = sectors_world["editeur"], sectors_world["cnsa"], sectors_world["og_user"]
    signed = order(sectors_world, "MS1", ESSMS[:4])
    assert signed.result["advance_eur"] == 4 * 1232 * 30 // 100  # tranche E (35+5 ESSMS), 30 % advance
    for user, name in ((editor, "demander_avance"), (cnsa, "verser_avance")):
        signed = apply_order_transition(user, signed, name, signed.version)
    assert signed.advance_paid_eur == signed.result["advance_eur"]
    cancelled = apply_order_transition(og, signed, "annuler", signed.version, "L'OG renonce.")
    assert (cancelled.state, cancelled.recovery_eur) == (OrderState.ANNULEE, signed.result["advance_eur"])
    assert not FundedEssms.objects.filter(order=cancelled, holds=True).exists()
    # Released: the same ESSMS may be ordered again in MS1.
    assert order(sectors_world, "MS1", ESSMS[:4]).state == OrderState.SIGNEE


def test_a_cancellation_before_any_payment_owes_nothing(sectors_world):
    signed = order(sectors_world, "MS1", ESSMS[:2])
    cancelled = apply_order_transition(sectors_world["og_user"], signed, "annuler", signed.version, "Erreur.")
    assert cancelled.recovery_eur is None


def test_the_amount_to_recover_is_shown_to_the_cnsa_and_in_the_export(sectors_world):
    from django.test import Client

    editor, cnsa, og = sectors_world["editeur"], sectors_world["cnsa"], sectors_world["og_user"]
    signed = order(sectors_world, "MS1", ESSMS[:4])
    for user, name in ((editor, "demander_avance"), (cnsa, "verser_avance")):
        signed = apply_order_transition(user, signed, name, signed.version)
    cancelled = apply_order_transition(og, signed, "annuler", signed.version, "L'OG renonce.")
    client = Client()
    client.force_login(cnsa)
    page = client.get(f"/sons/commandes/{cancelled.reference}/").content.decode()
    assert 'id="recovery"' in page and "à recouvrer" in page
    export = client.get("/sons/commandes/export.csv").content.decode("utf-8-sig")
    header, row = export.splitlines()[:2]
    assert "À recouvrer (€)" in header and row.split(";")[-1] == str(cancelled.recovery_eur)


def test_the_cancelled_advance_is_followed_until_the_asp_receives_it(sectors_world):
    from django.test import Client

    from esms_numerique.ledger.models import Recovery

    editor, cnsa, og = sectors_world["editeur"], sectors_world["cnsa"], sectors_world["og_user"]
    signed = order(sectors_world, "MS1", ESSMS[:4])
    for user, name in ((editor, "demander_avance"), (cnsa, "verser_avance")):
        signed = apply_order_transition(user, signed, name, signed.version)
    cancelled = apply_order_transition(og, signed, "annuler", signed.version, "L'OG renonce.")
    recovery = Recovery.objects.get(order=cancelled)
    assert (recovery.amount_eur, recovery.state) == (cancelled.recovery_eur, "emis")
    editor_page = Client()
    editor_page.force_login(editor)
    editor_page.post(f"/sons/commandes/{cancelled.reference}/reversements/{recovery.pk}/", {"reference": "X"})
    recovery.refresh_from_db()
    assert recovery.state == "emis"  # only the payer records it
    payer = Client()
    payer.force_login(cnsa)
    payer.post(
        f"/sons/commandes/{cancelled.reference}/reversements/{recovery.pk}/",
        {"received_on": "2023-06-01", "reference": "ASP-REV-7"},
    )
    recovery.refresh_from_db()
    assert (recovery.state, recovery.received_reference, recovery.received_on) == (
        "recouvre",
        "ASP-REV-7",
        dt.date(2023, 6, 1),
    )


def test_a_late_balance_request_is_refused(sectors_world, settings):
    from esms_numerique.sons.models import OrderItem
    from esms_numerique.sons.services import record_va

    editor, cnsa, og = sectors_world["editeur"], sectors_world["cnsa"], sectors_world["og_user"]
    signed = order(sectors_world, "MS1", ESSMS[:2])
    for user, name in ((editor, "demander_avance"), (cnsa, "verser_avance"), (editor, "declarer_prestation")):
        signed = apply_order_transition(user, signed, name, signed.version)
    for finess in ESSMS[:2]:
        record_va(og, signed, finess, dict.fromkeys(OrderItem.VA_FIELDS, True))
    signed = apply_order_transition(og, signed, "signer_va", signed.version)
    settings.ESMS_TODAY = "2024-04-04"  # MS1 balance requests closed on 03/04/2024
    from esms_numerique.sons.services import next_deadline

    assert next_deadline(signed) == {
        "due": dt.date(2024, 4, 3),
        "label": "demande de solde (S-CALENDAR)",
        "overdue": True,
    }
    with pytest.raises(OrderError, match="demandes de solde du couloir MS1 sont closes depuis le 03/04/2024"):
        apply_order_transition(editor, signed, "demander_solde", signed.version)


def test_the_payer_records_each_payment_with_its_date_and_reference(sectors_world):
    from django.test import Client

    editor, cnsa = sectors_world["editeur"], sectors_world["cnsa"]
    signed = apply_order_transition(editor, order(sectors_world, "MS1", ESSMS[:2]), "demander_avance", 1)
    payer = Client()
    payer.force_login(cnsa)
    page = payer.get(f"/sons/commandes/{signed.reference}/").content.decode()
    assert 'name="payment_reference"' in page and 'type="date"' in page
    payer.post(
        f"/sons/commandes/{signed.reference}/action/",
        {"transition": "verser_avance", "version": signed.version, "date": "2023-05-10", "payment_reference": "ASP-1"},
    )
    signed.refresh_from_db()
    assert (signed.state, signed.advance_paid_on, signed.advance_payment_reference) == (
        OrderState.AVANCE_VERSEE,
        dt.date(2023, 5, 10),
        "ASP-1",
    )
    assert signed.advance_paid_eur == signed.result["advance_eur"]
    assert "ASP-1" in payer.get(f"/sons/commandes/{signed.reference}/").content.decode()
