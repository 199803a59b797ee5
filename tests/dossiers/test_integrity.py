"""Issue 9: one FINESS ET, one funding (the ledger), amounts within the rules, complements after the window,
references that never collide — each reproduced as users met it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import DossierError, apply_transition, create_dossier, revise_amount
from esms_numerique.ledger.models import FundedEssms

from .conftest import GRAPPE_FINESS, attach_pieces, grappe, paid_through_request, through_committee

pytestmark = pytest.mark.django_db


def filed(users, title="Grappe", **kwargs):
    porteur = users["porteur"]
    dossier = attach_pieces(porteur, create_dossier(porteur, title, "2024", grappe(**kwargs)))
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def in_instruction(users, title="Grappe", **kwargs):
    dossier = filed(users, title, **kwargs)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(users["ars"], dossier, name, dossier.version)
    return dossier


def test_two_dossiers_with_the_same_essms_cannot_both_be_retained(users):
    first = in_instruction(users, "Première grappe")
    second = in_instruction(users, "Seconde grappe")
    # At filing, the second dossier is told, naming the first (not blocking: only one can be retained).
    shared = [f for f in second.filed_result["findings"] if f["rule"] == "E-NO-DOUBLE" and f["verdict"] != "ok"]
    assert len(shared) == 20 and first.reference in shared[0]["message"]
    first = through_committee(users["ars"], first)
    assert first.state == State.RETENU
    with pytest.raises(
        DossierError, match=rf"E-NO-DOUBLE.*{GRAPPE_FINESS[0]} est déjà retenu dans le dossier {first.reference}"
    ):
        through_committee(users["ars"], second)
    second.refresh_from_db()
    assert (second.state, second.engaged_eur) == (State.PRESENTE_COMITE, None)
    assert FundedEssms.objects.filter(holds=True).count() == 20
    assert set(FundedEssms.objects.filter(holds=True).values_list("dossier_id", flat=True)) == {first.pk}
    # The API detail lists the dossier's ESSMS from the ledger.
    from django.test import Client

    client = Client()
    client.force_login(users["ars"])
    essms = client.get(f"/api/dossiers/{first.reference}").json()["essms"]
    assert len(essms) == 20 and essms[0]["state"] == "retenu" and essms[0]["amount_eur"] == 7000 + 14000


def test_a_funding_released_frees_the_essms(users):
    first = in_instruction(users, "Première grappe")
    second = in_instruction(users, "Seconde grappe")
    first = through_committee(users["ars"], first, decision="non_retenu", reason="Hors enveloppe.")
    assert first.state == State.NON_RETENU
    second = through_committee(users["ars"], second)
    second = apply_transition(users["ars"], second, "engager", second.version)
    assert second.state == State.ENGAGE
    assert FundedEssms.objects.filter(dossier=first, holds=True).count() == 0
    assert FundedEssms.objects.filter(dossier=second, holds=True, state="engage").count() == 20


def test_the_per_og_view_and_the_committee_show_the_conflict(users):
    from django.test import Client

    first = in_instruction(users, "Première grappe")
    second = in_instruction(users, "Seconde grappe")
    client = Client()
    client.force_login(users["ars"])
    side = client.get("/sons/vue-par-og/").content.decode()
    assert "20 ESSMS" in side and f"{GRAPPE_FINESS[0]} : dossier {first.reference}" in side
    committee = through_committee(users["ars"], first) and first.committee_items.get().committee
    page = client.get(f"/comites/{committee.pk}/").content.decode()
    assert f"dossier {second.reference}" in page and "E-NO-DOUBLE" in page
    follow = client.get("/suivi/").content.decode()
    assert f"<td>{GRAPPE_FINESS[0]}</td>" in follow


@pytest.mark.django_db(transaction=True)
def test_two_instructors_retaining_at_once_cannot_both_win(users):
    """Two committees decide at the same instant on two dossiers holding the same ESSMS (PostgreSQL: row locks
    and the ledger's unique constraint; SQLite: immediate transactions)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL (CI)")
    import datetime as dt

    from django.db import close_old_connections

    from esms_numerique.dossiers.committees import add_to_agenda, create_committee, decide

    ars = users["ars"]
    items = []
    for title in ("A", "B"):
        dossier = in_instruction(users, title)
        committee = create_committee(ars, f"Comité {title}", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
        items.append(add_to_agenda(ars, committee, dossier))
    barrier = threading.Barrier(2)
    outcomes = []

    def retain(item):
        try:
            barrier.wait()
            decide(ars, item, "retenu", "Retenu.")
            outcomes.append("retenu")
        except DossierError as error:
            outcomes.append(str(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=retain, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o == "retenu" for o in outcomes) == [False, True], outcomes
    assert "E-NO-DOUBLE" in next(o for o in outcomes if o != "retenu")
    assert FundedEssms.objects.filter(holds=True).count() == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_get_distinct_references(users):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL (CI)")
    from django.db import close_old_connections

    barrier = threading.Barrier(10)
    references, errors = [], []

    def create(n):
        try:
            barrier.wait()
            references.append(create_dossier(users["porteur"], f"Grappe {n}", "2024", grappe(count=2)).reference)
        except Exception as error:
            errors.append(repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(references) == [f"ESMS-2024-{n:05d}" for n in range(1, 11)]


def engaged_and_paid(users):
    dossier = through_committee(users["ars"], in_instruction(users, count=2))
    for name in ("engager", "signer_convention"):
        dossier = apply_transition(users["ars"], dossier, name, dossier.version)
    return paid_through_request(users["porteur"], users["ars"], dossier)


def test_a_revision_stays_between_what_was_paid_and_what_the_rules_compute(users):
    dossier = engaged_and_paid(users)
    computed, paid = dossier.filed_result["total_eur"], dossier.advance_paid_eur
    assert (computed, paid) == (2 * 21000, 21000)
    for amount, message in (
        (5_000_000, "dépasse ce que les règles calculent pour la grappe retenue \\(42000 €\\)"),
        (0, "inférieur à ce qui a déjà été versé \\(21000 €\\)"),
        (10**20, "nombre entier d'euros"),
    ):
        with pytest.raises(DossierError, match=message):
            revise_amount(users["ars"], dossier, dossier.version, amount, "Révision")
    dossier.refresh_from_db()
    assert dossier.engaged_eur == computed and dossier.amount_versions.count() == 1
    dossier = revise_amount(users["ars"], dossier, dossier.version, 30000, "Devis revu à la baisse")
    assert (dossier.engaged_eur, dossier.amount_versions.count()) == (30000, 2)


def test_an_oversized_amount_on_the_page_is_a_french_field_error_not_a_500(users):
    from django.test import Client

    dossier = engaged_and_paid(users)
    client = Client()
    client.force_login(users["ars"])
    response = client.post(
        f"/dossiers/{dossier.reference}/montant/",
        {"version": dossier.version, "amount_eur": str(10**20), "reason": "Essai"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Révision refusée" in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.engaged_eur == 42000


def test_a_complement_is_sent_after_the_window_and_the_filing_date_does_not_move(users, settings):
    settings.ESMS_TODAY = "2024-09-10"
    dossier = filed(users)
    first_filing = dossier.filed_at
    dossier = apply_transition(users["ars"], dossier, "demander_complement", dossier.version, "Précisez le SAAD.")
    settings.ESMS_TODAY = "2024-09-20"  # the 2024 regional window closed on 15/09/2024
    dossier = apply_transition(users["porteur"], dossier, "completer", dossier.version)
    assert dossier.state == State.COMPLETE
    assert dossier.filed_at == first_filing
    assert dossier.completed_at.date().isoformat() == "2024-09-20"


def test_a_first_filing_after_the_window_is_still_refused(users, settings):
    settings.ESMS_TODAY = "2024-09-20"
    with pytest.raises(DossierError, match="E-WINDOW"):
        filed(users)
