"""`esms demo load` — what `make run` shows a newcomer: every role, a dossier in every state."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from esms_numerique.audit.services import verify_chain
from esms_numerique.demo_load import load_demo
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier

pytestmark = pytest.mark.django_db


def test_demo_covers_every_state_and_role_and_loads_twice(tmp_path, settings):
    settings.ESMS_TODAY = "2024-03-11"
    lines = load_demo(tmp_path)
    assert "17 dossiers de démonstration" in lines[-1]
    assert "3 commandes SONS de démonstration" in lines[-2]
    from esms_numerique.sons.models import Order

    assert sorted(Order.objects.values_list("state", flat=True)) == ["annulee", "prestation_realisee", "solde_verse"]
    assert set(Dossier.objects.values_list("state", flat=True)) == set(State.values)
    for username in ("admin", "instructeur", "cnsa", "grades", "porteur", "editeur"):
        assert authenticate(username=username, password=f"{username}-esms-demo") is not None, username
    closed = Dossier.objects.get(state=State.CLOS)
    assert closed.balance_paid_eur + closed.advance_paid_eur == closed.engaged_eur
    assert closed.committee_items.get().decision == "retenu"
    # A trajectory to show: three rising measures where the targets were reached, two (not yet) in deployment.
    from esms_numerique.indicators.services import final_status

    assert sorted({m.measurement_date.isoformat() for m in closed.measurements.all()}) == [
        "2023-12-31",
        "2024-01-31",
        "2024-02-29",
    ]
    assert final_status(closed)["all_met"]
    deploying = Dossier.objects.get(state=State.EN_DEPLOIEMENT)
    assert deploying.measurements.values("measurement_date").distinct().count() == 2
    assert final_status(deploying)["unmet"]
    again = load_demo(tmp_path)
    assert again == ["Extraction du 03/01/2024 déjà importée : rien n'a changé."]
    assert Dossier.objects.count() == 17
    assert verify_chain() == []
