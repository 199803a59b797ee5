"""Issue 10: after the decision — payment requests, an ESSMS withdrawn, deadlines, withdrawals, « classé sans
suite », transfer and recovery, each checked to the euro."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from esms_numerique.dossiers.changes import extend_deadline, next_deadline, transfer, withdraw_essms
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.payments import PAYMENT, apply_payment_transition, record_recovery_received
from esms_numerique.dossiers.services import DossierError, apply_transition, create_dossier, deadline
from esms_numerique.dossiers.workflow import WORKFLOW
from esms_numerique.ledger.models import FundedEssms, Recovery
from esms_numerique.rules.payments import balance_due
from esms_numerique.www import home

from .conftest import (
    GRAPPE_FINESS,
    OTHER_EJ,
    attach_pieces,
    grappe,
    measure,
    paid_through_request,
    through_committee,
)

pytestmark = pytest.mark.django_db


def test_every_guard_effect_and_follow_up_named_is_registered():
    from esms_numerique.sons.workflow import WORKFLOW as ORDERS

    assert (WORKFLOW.missing(), PAYMENT.missing(), ORDERS.missing()) == ([], [], [])


def retained(users, count=4, **kwargs):
    porteur, ars = users["porteur"], users["ars"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(count, **kwargs)))
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    return through_committee(ars, dossier)


def conventioned(users, count=4):
    dossier = retained(users, count)
    dossier = apply_transition(users["ars"], dossier, "engager", dossier.version, "", {"engagement_reference": "EJ-42"})
    return apply_transition(users["ars"], dossier, "signer_convention", dossier.version)


def test_the_advance_is_requested_approved_and_paid_with_its_reference(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = conventioned(users)
    assert dossier.engagement_reference == "EJ-42"
    with pytest.raises(DossierError, match="depuis la demande de paiement"):
        apply_transition(ars, dossier, "verser_avance", dossier.version)
    dossier = apply_transition(porteur, dossier, "demander_avance", dossier.version)
    request = dossier.payment_requests.get()
    assert (dossier.state, request.amount_eur, request.state) == (State.AVANCE_DEMANDEE, 42000, "demandee")
    with pytest.raises(PermissionDenied):
        apply_payment_transition(porteur, request, "approuver", request.version, {})
    with pytest.raises(DossierError, match="est « Demandée »"):
        apply_payment_transition(ars, request, "verser", request.version, {"payment_reference": "X"})
    request = apply_payment_transition(ars, request, "approuver", request.version, {})
    with pytest.raises(DossierError, match="la référence du paiement"):
        apply_payment_transition(ars, request, "verser", request.version, {})
    apply_payment_transition(
        ars, request, "verser", request.version, {"payment_reference": "CHORUS-9", "date": "2024-03-20"}
    )
    dossier.refresh_from_db()
    assert (dossier.state, dossier.advance_paid_eur, dossier.advance_paid_on) == (
        State.AVANCE_VERSEE,
        42000,
        dt.date(2024, 3, 20),
    )
    assert [t.transition for t in dossier.transitions.all()][-2:] == ["demander_avance", "verser_avance"]


def test_a_refused_advance_request_takes_the_dossier_back(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = conventioned(users)
    dossier = apply_transition(porteur, dossier, "demander_avance", dossier.version)
    request = dossier.payment_requests.get()
    apply_payment_transition(ars, request, "refuser", request.version, {"comment": "RIB manquant."})
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION_SIGNEE
    assert dossier.messages.filter(body__contains="RIB manquant").exists()


def test_an_essms_withdrawn_recomputes_the_grappe_frees_it_and_claims_back_the_overpaid(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = paid_through_request(porteur, ars, conventioned(users, count=4))
    assert (dossier.engaged_eur, dossier.advance_paid_eur) == (84000, 42000)
    dossier = withdraw_essms(ars, dossier, dossier.version, GRAPPE_FINESS[3], "L'ESSMS ferme en juin.")
    assert (dossier.engaged_eur, dossier.filed_result["total_eur"], dossier.filed_result["essms_count"]) == (
        63000,
        63000,
        3,
    )
    versions = list(dossier.grappe_versions.values_list("number", "result__total_eur"))
    assert versions == [(1, 84000), (2, 63000)]
    assert not FundedEssms.objects.filter(dossier=dossier, finess_et=GRAPPE_FINESS[3]).exists()
    assert dossier.recoveries.count() == 0  # 42 000 paid, 63 000 due: nothing to pay back
    for finess in GRAPPE_FINESS[1:3]:
        dossier = withdraw_essms(ars, dossier, dossier.version, finess, "Fermeture.")
    assert dossier.engaged_eur == 21000
    recovery = dossier.recoveries.get()
    assert (recovery.amount_eur, recovery.state) == (21000, "emis")  # 42 000 paid, 21 000 due
    with pytest.raises(DossierError, match="dernier ESSMS"):
        withdraw_essms(ars, dossier, dossier.version, GRAPPE_FINESS[0], "Plus rien.")
    with pytest.raises(PermissionDenied):
        withdraw_essms(porteur, dossier, dossier.version, GRAPPE_FINESS[0], "Plus rien.")


def test_the_balance_is_reduced_for_under_spent_equipment():
    lines = [
        {"rule": "F-USAGE", "amount_eur": 35000},
        {"rule": "F-EQUIP", "amount_eur": 20000},
        {"rule": "F-AMOA", "amount_eur": 30000},
    ]
    computation = balance_due(85000, 42500, lines, equipment_spent_eur=12000, amoa_spent_eur=None)
    assert [(line.rule, line.amount_eur) for line in computation.lines] == [
        ("F-PAY", 85000),
        ("F-PAY", -42500),
        ("F-EQUIP", -8000),
    ]
    assert computation.total_eur == 34500
    assert balance_due(10000, 9000, lines, 0, 0).total_eur == 0  # never below zero


def test_the_deadline_is_extended_with_a_reason_and_shown_as_next(users, settings):
    dossier = paid_through_request(users["porteur"], users["ars"], conventioned(users))
    due = deadline(dossier)["due"]
    assert due == dt.date(2025, 9, 11) and next_deadline(dossier)["due"] == due
    with pytest.raises(DossierError, match="doit suivre l'actuelle"):
        extend_deadline(users["ars"], dossier, dossier.version, due, "Retard de l'éditeur")
    dossier = extend_deadline(users["ars"], dossier, dossier.version, dt.date(2025, 12, 31), "Retard de l'éditeur")
    assert deadline(dossier) == {"months": 18, "due": dt.date(2025, 12, 31), "overdue": False, "extended": True}
    settings.ESMS_TODAY = "2025-12-15"
    assert next_deadline(dossier)["soon"] is True
    # The instructor's home reads the deadline stored with the change (D-LIST-COLUMNS): near, then passed.
    assert [(row["dossier"].pk, row["due"], row["soon"], row["overdue"]) for row in home._deadlines(users["ars"])] == [
        (dossier.pk, dt.date(2025, 12, 31), True, False)
    ]
    assert home._deadlines(users["ars"])[0]["label"] == "fin de déploiement (F-PAY)"
    settings.ESMS_TODAY = "2026-01-02"
    assert [(row["soon"], row["overdue"]) for row in home._deadlines(users["ars"])] == [(False, True)]
    settings.ESMS_TODAY = "2025-11-15"  # beyond the warning delay: not on the home page
    assert home._deadlines(users["ars"]) == []


def test_a_retained_dossier_must_be_committed_before_the_end_of_the_year(users, settings):
    dossier = retained(users)
    assert next_deadline(dossier) == {
        "label": "engagement financier (FAQN Q22)",
        "due": dt.date(2024, 12, 31),
        "overdue": False,
        "soon": False,
    }
    settings.ESMS_TODAY = "2025-01-02"
    assert next_deadline(dossier)["overdue"] is True


def test_the_porteur_withdraws_before_payment_and_the_essms_are_free(users):
    dossier = conventioned(users)
    assert FundedEssms.objects.filter(dossier=dossier, holds=True).count() == 4
    dossier = apply_transition(users["porteur"], dossier, "desister", dossier.version, "Projet repris par le siège.")
    assert dossier.state == State.DESISTE
    assert FundedEssms.objects.filter(dossier=dossier, holds=True).count() == 0
    assert dossier.recoveries.count() == 0
    dossier = apply_transition(users["ars"], dossier, "clore", dossier.version)
    assert dossier.state == State.CLOS


def test_no_withdrawal_once_paid_but_an_abandon_claims_back_the_advance(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = paid_through_request(porteur, ars, conventioned(users))
    with pytest.raises(DossierError, match="impossible quand le dossier est « Avance versée »"):
        apply_transition(porteur, dossier, "desister", dossier.version, "Trop tard.")
    dossier = apply_transition(ars, dossier, "abandonner", dossier.version, "Le projet n'a pas démarré.")
    recovery = dossier.recoveries.get()
    assert (dossier.state, recovery.amount_eur) == (State.ABANDONNE, 42000)
    assert FundedEssms.objects.filter(dossier=dossier, holds=True).count() == 0
    with pytest.raises(DossierError, match="42000 € reste à recouvrer"):
        apply_transition(ars, dossier, "clore", dossier.version)
    record_recovery_received(ars, recovery, dt.date(2024, 6, 1), "REV-1")
    assert Recovery.objects.get().state == "recouvre"
    assert apply_transition(ars, dossier, "clore", dossier.version).state == State.CLOS


def test_classe_sans_suite_by_the_instructor(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(4)))
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    with pytest.raises(PermissionDenied):
        apply_transition(porteur, dossier, "classer_sans_suite", dossier.version, "Non.")
    dossier = apply_transition(ars, dossier, "classer_sans_suite", dossier.version, "Sans réponse du porteur.")
    assert dossier.state == State.CLASSE_SANS_SUITE
    assert not FundedEssms.objects.filter(dossier=dossier).exclude(state="libere").exists()


def test_a_dossier_is_transferred_to_another_og_and_keeps_its_history(users):
    from esms_numerique.accounts.access import forget_access

    dossier = conventioned(users)
    history = dossier.transitions.count()
    dossier = transfer(users["ars"], dossier, dossier.version, OTHER_EJ, "Fusion des deux associations.")
    assert (dossier.porteur.finess_ej, dossier.grappe["porteur"]["finess_ej"]) == (OTHER_EJ, OTHER_EJ)
    assert dossier.transitions.count() == history
    for user in users.values():
        forget_access(user)
    # The new OG acts on it, the former one no longer sees it.
    dossier = apply_transition(users["autre_porteur"], dossier, "demander_avance", dossier.version)
    assert dossier.state == State.AVANCE_DEMANDEE
    from esms_numerique.dossiers.access import can_see

    assert not can_see(users["porteur"], dossier)


def test_the_balance_request_is_computed_and_paid(users, settings):
    porteur, ars = users["porteur"], users["ars"]
    dossier = paid_through_request(porteur, ars, conventioned(users))
    dossier = apply_transition(porteur, dossier, "demarrer_deploiement", dossier.version)
    settings.ESMS_TODAY = "2024-07-15"
    measure(porteur, dossier)
    dossier = apply_transition(ars, dossier, "enregistrer_cibles", dossier.version)
    dossier = paid_through_request(porteur, ars, dossier, "solde", "CHORUS-S", expenses_statement=True)
    request = dossier.payment_requests.get(kind="solde")
    assert [line["amount_eur"] for line in request.computation["lines"]] == [84000, -42000]
    assert (dossier.state, dossier.balance_paid_eur) == (State.SOLDE_VERSE, 42000)


def test_the_list_filters_by_deadline_and_the_export_carries_payments_recoveries_and_deadlines(users, settings):
    from django.test import Client

    porteur, ars = users["porteur"], users["ars"]
    late = paid_through_request(porteur, ars, conventioned(users, count=2))
    late = apply_transition(ars, late, "abandonner", late.version, "Projet arrêté.")
    client = Client()
    client.force_login(ars)
    export = client.get("/dossiers/export.csv").content.decode("utf-8-sig").splitlines()
    header = export[0].split(";")
    row = dict(zip(header, export[1].split(";"), strict=True))
    assert row["Référence d'engagement"] == "EJ-42"
    assert row["À reverser (€)"] == "21000" and row["Avance versée (€)"] == "21000"
    deploying = paid_through_request(porteur, ars, conventioned(users, count=2))
    settings.ESMS_TODAY = "2025-09-20"  # 18 months after the convention of 11/03/2024 have passed
    overdue = client.get("/dossiers/?echeance=depassee").content.decode()
    assert deploying.reference in overdue and late.reference not in overdue
    assert deploying.reference not in client.get("/dossiers/?echeance=proche").content.decode()


def test_an_essms_is_replaced_by_another_of_the_same_og_never_raising_the_amount(users):
    from esms_numerique.dossiers.changes import replace_essms

    ars = users["ars"]
    dossier = conventioned(users, count=4)
    with pytest.raises(DossierError, match="n'est pas géré par le même OG"):
        replace_essms(ars, dossier, dossier.version, GRAPPE_FINESS[3], "290000017", "Reprise.")
    with pytest.raises(DossierError, match="déjà dans la grappe"):
        replace_essms(ars, dossier, dossier.version, GRAPPE_FINESS[3], GRAPPE_FINESS[2], "Reprise.")
    dossier = replace_essms(ars, dossier, dossier.version, GRAPPE_FINESS[3], GRAPPE_FINESS[10], "Fusion des sites.")
    assert dossier.engaged_eur == 84000 and dossier.filed_result["essms_count"] == 4
    held = set(FundedEssms.objects.filter(dossier=dossier, holds=True).values_list("finess_et", flat=True))
    assert held == {*GRAPPE_FINESS[:3], GRAPPE_FINESS[10]}
    assert (
        dossier.grappe_versions.last().change == f"Remplacement de l'ESSMS {GRAPPE_FINESS[3]} par {GRAPPE_FINESS[10]}"
    )


def test_a_newcomer_already_funded_elsewhere_cannot_join(users):
    from esms_numerique.dossiers.changes import replace_essms

    ars = users["ars"]
    first = conventioned(users, count=4)
    porteur = users["porteur"]
    other = attach_pieces(
        porteur,
        create_dossier(
            porteur, "Autre", "2024", {**grappe(0), "essms": [{"finess_et": f} for f in GRAPPE_FINESS[10:14]]}
        ),
    )
    other = apply_transition(porteur, other, "deposer", other.version)
    for name in ("declarer_recevable", "instruire"):
        other = apply_transition(ars, other, name, other.version)
    other = through_committee(ars, other)
    with pytest.raises(DossierError, match=GRAPPE_FINESS[10]):
        replace_essms(ars, first, first.version, GRAPPE_FINESS[3], GRAPPE_FINESS[10], "Reprise.")
    first.refresh_from_db()
    assert first.grappe_versions.count() == 0


def test_an_isolated_essms_joins_a_funded_grappe_with_the_porteurs_agreement(users):
    from esms_numerique.dossiers.changes import join_essms

    ars = users["ars"]
    dossier = conventioned(users, count=4)
    with pytest.raises(DossierError, match="accord du porteur"):
        join_essms(ars, dossier, dossier.version, GRAPPE_FINESS[12], False, "S2 2024", "Rejoint le projet.")
    with pytest.raises(DossierError, match="calendrier"):
        join_essms(ars, dossier, dossier.version, GRAPPE_FINESS[12], True, " ", "Rejoint le projet.")
    dossier = join_essms(ars, dossier, dossier.version, GRAPPE_FINESS[12], True, "S2 2024", "Rejoint le projet.")
    assert (dossier.engaged_eur, dossier.filed_result["essms_count"]) == (105000, 5)  # 5 × (7 000 + 14 000)
    assert FundedEssms.objects.filter(dossier=dossier, finess_et=GRAPPE_FINESS[12], holds=True).exists()
    assert dossier.grappe_versions.last().change == f"Arrivée de l'ESSMS {GRAPPE_FINESS[12]} (E-JOIN)"
    assert dossier.amount_versions.last().amount_eur == 105000


def test_an_abandoned_dossier_has_no_deadline_left_and_the_deadline_states_are_one_set(users, settings):
    from esms_numerique.dossiers import changes, listing
    from esms_numerique.dossiers.workflow import CHANGEABLE, WITH_DEADLINE

    dossier = paid_through_request(users["porteur"], users["ars"], conventioned(users))
    assert next_deadline(dossier)["label"] == "fin de déploiement (F-PAY)"
    settings.ESMS_TODAY = "2025-10-01"  # after the deployment's end (11/09/2025): on the instructor's home page
    assert [row["dossier"].pk for row in home._deadlines(users["ars"])] == [dossier.pk]
    dossier = apply_transition(users["ars"], dossier, "abandonner", dossier.version, "Le projet n'a pas démarré.")
    assert dossier.convention_signed_on is not None and next_deadline(dossier) is None
    assert dossier.deadline_on is None
    # One definition (dossiers.workflow), the one next_deadline reads: engaged without a convention, no deadline.
    assert listing.WITH_DEADLINE is WITH_DEADLINE and home._deadlines(users["ars"]) == []
    assert changes.CHANGEABLE is CHANGEABLE and WITH_DEADLINE | {State.ENGAGE} == CHANGEABLE
    assert State.ENGAGE not in WITH_DEADLINE


def test_the_list_columns_migration_reads_a_frozen_copy_of_the_deadline(users):
    """A later change of dossiers.changes or dossiers.services cannot break migrating a fresh database."""
    import importlib
    import inspect

    migration = importlib.import_module("esms_numerique.dossiers.migrations.0008_list_columns_reads")
    source = inspect.getsource(migration)
    assert "esms_numerique.dossiers." not in source and "from esms_numerique.dossiers" not in source
    dossier = retained(users)
    for step in ("engager", "signer_convention", None):
        expected = next_deadline(dossier)
        frozen = migration._next_deadline(dossier)
        assert frozen == ({"due": expected["due"], "label": expected["label"]} if expected else None)
        if step:
            dossier = apply_transition(
                users["ars"], dossier, step, dossier.version, "", {"engagement_reference": "EJ-42"}
            )
    assert frozen["label"] == "fin de déploiement (F-PAY)"
