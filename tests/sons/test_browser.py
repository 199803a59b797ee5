"""An order from signature to balance, and a cancellation, in Debian's chromium."""

from __future__ import annotations

import pytest

from esms_numerique.sons.models import Order, OrderItem
from tests.browser_steps import act, logged_in
from tests.conftest import CHROMIUM

from .conftest import ESSMS
from .test_orders import sign, step

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]


def state(page):
    return page.text_content("#order-state").strip()


def test_order_from_signature_to_balance_and_a_cancellation(live_server, browser, world):
    editor = logged_in(browser, live_server, "editeur")
    editor.goto(f"{live_server.url}/sons/commandes/")
    editor.get_by_role("link", name="Enregistrer une commande signée").click()
    editor.fill("input[name=og]", "350000014")
    editor.select_option("select[name=solution]", str(world["solution"].pk))
    editor.select_option("select[name=sector]", "PA")
    editor.fill("input[name=ordered_on]", "2023-05-01")
    editor.fill("textarea[name=items]", "\n".join(f"{f};4.2;5.0" for f in ESSMS[:3]))
    editor.get_by_role("button", name="Enregistrer").click()
    assert editor.inner_text("#order-total").replace("\u202f", " ") == "3 696 €"
    reference = Order.objects.get().reference
    act(editor, "demander_avance")
    payer = logged_in(browser, live_server, "cnsa")
    payer.goto(f"{live_server.url}/sons/commandes/{reference}/")
    act(payer, "verser_avance")
    editor.reload()
    act(editor, "declarer_prestation")
    og = logged_in(browser, live_server, "og")
    og.goto(f"{live_server.url}/sons/commandes/{reference}/")
    for select in og.locator("#va-form select").all():
        select.select_option("oui")
    og.get_by_role("button", name="Enregistrer les réponses de la VA").click()
    act(og, "signer_va")
    assert state(og) == "VA signée"
    editor.reload()
    act(editor, "demander_solde")
    payer.reload()
    act(payer, "verser_solde")
    assert state(payer) == "Solde versé"

    second = sign(world, ESSMS[3:5])
    og.goto(f"{live_server.url}/sons/commandes/{second.reference}/")
    act(og, "annuler", "Changement de projet")
    assert state(og) == "Annulée"
    response = og.request.get(f"{live_server.url}/sons/commandes/{second.reference}/annulation.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF-")


def test_a_no_in_the_va_stays_a_no_when_the_og_saves_the_page_again(live_server, browser, world):
    """A saved « non » is shown again as « non »: saving the page a second time must not turn it into « oui »."""
    order = sign(world, ESSMS[:2])
    for who, name in (("editeur", "demander_avance"), ("cnsa", "verser_avance"), ("editeur", "declarer_prestation")):
        order = step(world[who], order, name)
    item = order.items.order_by("pk").first()
    refused = f"#va-form select[name='{item.pk}-va_tbb1']"
    og = logged_in(browser, live_server, "og")
    og.goto(f"{live_server.url}/sons/commandes/{order.reference}/")
    assert og.input_value(refused) == ""  # « — »: not answered yet
    og.select_option(refused, "non")
    og.get_by_role("button", name="Enregistrer les réponses de la VA").click()
    assert "Réponses de la VA enregistrées" in og.inner_text("main")
    og.reload()
    assert og.input_value(refused) == "non"
    assert og.locator(f"{refused} option:checked").inner_text() == "non"
    og.get_by_role("button", name="Enregistrer les réponses de la VA").click()
    assert "Réponses de la VA enregistrées" in og.inner_text("main")
    item.refresh_from_db()
    assert item.va_tbb1 is False
    assert [getattr(item, name) for name in OrderItem.VA_FIELDS if name != "va_tbb1"] == [None, None, None]
