# ruff: noqa: F811 (pytest fixtures imported from tests.sons.conftest)
"""The home pages that follow SONS orders (issue 12): the éditeur reads each order with its next step and deadline,
the OG its orders, the national desk the payments it is asked to make for the ASP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esms_numerique.sons.services import ItemRequest, apply_order_transition, sign_order
from tests.sons.conftest import ESSMS, during_ms1, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def home_of(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_orders_on_the_home_pages_with_their_next_step(world):
    items = [ItemRequest(ESSMS[0], "4.0", "5.0")]
    order = sign_order(world["editeur"], world["og"], world["solution"], "PA", dt.date(2023, 5, 1), items)
    editor = home_of(world["editeur"])
    assert "Mes commandes SONS et leur prochaine étape" in editor
    assert order.reference in editor
    assert "Prochaine étape : l&#x27;éditeur demande l&#x27;avance (30\u00a0%)" in editor
    assert "Échéance : demande d&#x27;avance (S-CALENDAR) le 10/01/2024" in editor
    assert order.reference not in home_of(world["autre_editeur"])
    # An éditeur has no dossier: its menu and tools lead to its orders.
    assert 'href="/dossiers/"' not in editor and 'href="/sons/commandes/">Mes commandes SONS' in editor
    assert order.reference in home_of(world["og_user"])

    national = home_of(world["cnsa"])
    assert "Aucune demande d&#x27;avance ou de solde en attente." in national
    order = apply_order_transition(world["editeur"], order, "demander_avance", order.version)
    national = home_of(world["cnsa"])
    assert order.reference in national
    assert "la CNSA/DNS (pour l&#x27;ASP) verse l&#x27;avance" in national


def test_the_checklists_sectors_are_the_sectors_parameter():
    from esms_numerique.rules.checklist_calendar import SECTOR_LABELS
    from esms_numerique.rules.parameters import default_tree

    rows = default_tree().get("sectors.sectors").values[-1].value
    assert {row["code"]: f"{row['label']} ({row['code']})" for row in rows} == SECTOR_LABELS
    assert SECTOR_LABELS["DOM"] == "Domicile (SSIAD, SAAD…) (DOM)"
