"""SONS pages: checklist, orders by role, VA, documents, side-by-side view."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.sons.models import Order

from .conftest import ESSMS
from .test_orders import sign, step

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_checklist_page_without_login(client):
    # The sector decides the couloir, and the date its order window (MS1 open until 10/01/2024; issue 12).
    query = {"situation": "montee_version", "referencing": "engage", "secteur": "PA", "date": "2023-06-01"}
    page = client.get("/sons/", query).content.decode()
    assert 'data-scheme="sons"' in page
    assert "120 jours" in page
    page = client.get("/sons/", {"situation": "sans_dui"}).content.decode()
    assert 'data-scheme="esms_numerique"' in page


def test_editor_records_an_order_through_the_form(world):
    editor = client_for(world["editeur"])
    response = editor.post(
        "/sons/commandes/nouvelle/",
        {
            "og": "350000014",
            "solution": world["solution"].pk,
            "sector": "PA",
            "ordered_on": "2023-05-01",
            "items": "\n".join(f"{f};4.2;5.0" for f in ESSMS[:3]),
        },
        follow=True,
    )
    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == f"/sons/commandes/{order.reference}/"
    assert order.result["total_eur"] == 3 * 1232
    refused = editor.post(
        "/sons/commandes/nouvelle/",
        {
            "og": "350000014",
            "solution": world["solution"].pk,
            "sector": "PA",
            "ordered_on": "2023-05-01",
            "items": f"{ESSMS[0]};4.2;5.0",
        },
    )
    assert "Commande refusée" in refused.content.decode() and "S-ONCE" in refused.content.decode()
    assert Order.objects.count() == 1


def test_who_sees_which_order(world):
    order = sign(world, ESSMS[:2])
    ars = User.objects.create_user("ars_bzh", password="x")
    Profile.objects.create(user=ars, role=Role.ARS, region="53")
    ars_idf = User.objects.create_user("ars_idf", password="x")
    Profile.objects.create(user=ars_idf, role=Role.ARS, region="11")
    for user, sees in (
        (world["editeur"], True),
        (world["autre_editeur"], False),
        (world["og_user"], True),
        (world["cnsa"], True),
        (ars, True),
        (ars_idf, False),
    ):
        client = client_for(user)
        assert (client.get(f"/sons/commandes/{order.reference}/").status_code == 200) == sees, user
        assert (order.reference in client.get("/sons/commandes/").content.decode()) == sees, user
        assert (client.get(f"/sons/commandes/{order.reference}/bon-de-commande.pdf").status_code == 200) == sees
    assert Client().get("/sons/commandes/").status_code == 302
    assert client_for(world["editeur"]).get("/sons/vue-par-og/").status_code == 403
    assert order.reference in client_for(ars).get("/sons/vue-par-og/").content.decode()


def test_va_form_and_amounts_due(world):
    order = sign(world, ESSMS[:2])
    for name, who in (("demander_avance", "editeur"),):
        order = step(world[who], order, name)
    page = client_for(world["editeur"]).get("/sons/commandes/").content.decode()
    assert 'data-amount="advance_due">739' in page.replace("\u202f", "")
    order = step(world["cnsa"], order, "verser_avance")
    order = step(world["editeur"], order, "declarer_prestation")
    og = client_for(world["og_user"])
    items = list(order.items.all())
    answers = {f"{i.pk}-{name}": "oui" for i in items for name in i.VA_FIELDS}
    answers[f"{items[1].pk}-va_tbb1"] = "non"
    og.post(f"/sons/commandes/{order.reference}/va/", answers)
    og.post(f"/sons/commandes/{order.reference}/action/", {"transition": "signer_va", "version": order.version})
    order.refresh_from_db()
    response = client_for(world["editeur"]).post(
        f"/sons/commandes/{order.reference}/action/",
        {"transition": "demander_solde", "version": order.version},
        follow=True,
    )
    assert "Solde retenu" in response.content.decode()
    order.refresh_from_db()
    assert order.state == "va_signee"


def test_the_og_is_warned_when_the_120_days_run_out(world, settings):
    from esms_numerique.sons.models import Solution

    pending = Solution.objects.create(editor=world["solution"].editor, name="DUI", version="6.0", couloir="MS1")
    order = sign(world, ESSMS[:1], solution=pending)
    og = client_for(world["og_user"])
    assert "avant le 29/08/2023" in og.get(f"/sons/commandes/{order.reference}/").content.decode()
    settings.ESMS_TODAY = "2023-09-01"
    page = og.get(f"/sons/commandes/{order.reference}/").content.decode()
    assert "risque d&#x27;annulation, l&#x27;OG doit en être informé" in page
