"""`esms demo load` — what `make run` shows a newcomer: every role, a dossier in every state."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import RequestFactory

from esms_numerique.audit.services import verify_chain
from esms_numerique.demo_load import load_demo
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier

pytestmark = pytest.mark.django_db


def test_demo_covers_every_state_and_role_and_loads_twice(tmp_path, settings):
    settings.ESMS_TODAY = "2024-03-11"
    lines = load_demo(tmp_path)
    assert "22 dossiers de démonstration" in lines[-1]
    assert "3 commandes SONS de démonstration" in lines[-2]
    from esms_numerique.sons.models import Order

    assert sorted(Order.objects.values_list("state", flat=True)) == ["annulee", "prestation_realisee", "solde_verse"]
    assert set(Dossier.objects.values_list("state", flat=True)) == set(State.values)
    for username in ("admin", "instructeur", "cnsa", "grades", "porteur", "editeur", "expert"):
        # (the sign-in lockout, django-axes, counts by address: authenticating takes a request)
        request = RequestFactory().post("/connexion/")
        assert authenticate(request, username=username, password=f"{username}-esms-demo") is not None, username
    # Every filed dossier was routed to the region's groupe instructeur; the expert reads none until asked.
    from esms_numerique.dossiers.access import visible_dossiers
    from esms_numerique.instruction.models import Assignment

    filed = Dossier.objects.filter(filed_at__isnull=False)
    routed = Assignment.objects.filter(group__label="Instruction ESMS numérique").values("dossier").distinct()
    assert filed.count() > 0 and routed.count() == filed.count()
    assert not visible_dossiers(User.objects.get(username="expert")).exists()
    closed = Dossier.objects.get(state=State.CLOS)
    assert closed.balance_paid_eur + closed.advance_paid_eur == closed.engaged_eur
    assert closed.committee_items.get().decision == "retenu"
    # A trajectory to show: three rising measures where the targets were reached, two (not yet) in deployment.
    from esms_numerique.indicators.services import final_status

    assert sorted({m.measurement_date.isoformat() for m in closed.measurements.all()}) == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-08",
    ]
    # Measured after the convention, never after the demo's date (D-USAGE-CHECKS).
    assert closed.convention_signed_on.isoformat() == "2024-01-16"
    # The ledger holds what the demo decided: each decided dossier its own ESSMS, each live order its own.
    from esms_numerique.ledger.models import FundedEssms

    held = FundedEssms.objects.filter(holds=True)
    assert (
        held.filter(scheme="esms_numerique").values("finess_et").distinct().count()
        == held.filter(scheme="esms_numerique").count()
    )
    assert held.filter(scheme="sons").count() == 10  # two live orders of five ESSMS; the cancelled one is released
    assert final_status(closed)["all_met"]
    deploying = Dossier.objects.get(state=State.EN_DEPLOIEMENT)
    assert deploying.measurements.values("measurement_date").distinct().count() == 2
    assert final_status(deploying)["unmet"]
    again = load_demo(tmp_path)
    assert again == ["Extraction du 03/01/2024 déjà importée : rien n'a changé."]
    assert Dossier.objects.count() == 22
    assert verify_chain() == []
