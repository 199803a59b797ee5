"""The OG's VA form: « — », « oui », « non » per question; a saved answer is shown again and saved again as it is."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from esms_numerique.sons.models import OrderItem

from .conftest import ESSMS
from .test_orders import sign, step

pytestmark = pytest.mark.django_db


def awaiting_va(world):
    order = sign(world, ESSMS[:2])
    for who, name in (("editeur", "demander_avance"), ("cnsa", "verser_avance"), ("editeur", "declarer_prestation")):
        order = step(world[who], order, name)
    return order


def og_client(world) -> Client:
    client = Client()
    client.force_login(world["og_user"])
    return client


def select_of(page: str, name: str) -> str:
    match = re.search(rf'<select[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert match, name
    return match.group(1)


def shown(page: str, name: str) -> str:
    """What a browser sends back for the <select>: the selected option, else the first one."""
    options = re.findall(r"<option ([^>]*)>", select_of(page, name))
    chosen = next((o for o in options if re.search(r"\bselected\b", o)), options[0])
    return re.search(r'value="([^"]*)"', chosen).group(1)


def form_as_shown(page: str, order) -> dict[str, str]:
    return {f"{i.pk}-{n}": shown(page, f"{i.pk}-{n}") for i in order.items.all() for n in OrderItem.VA_FIELDS}


def answers(order) -> dict[tuple[str, str], bool | None]:
    return {
        (i.establishment.finess_et, n): getattr(i, n)
        for i in order.items.select_related("establishment")
        for n in OrderItem.VA_FIELDS
    }


def test_each_question_offers_not_answered_yes_and_no(world):
    order = awaiting_va(world)
    page = og_client(world).get(f"/sons/commandes/{order.reference}/").content.decode()
    item = order.items.first()
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_of(page, f"{item.pk}-va_tbb1"))
    assert options == [("", "—"), ("oui", "oui"), ("non", "non")]
    # Nothing answered yet: the page shows « — » everywhere, never a silent « oui ».
    assert set(form_as_shown(page, order).values()) == {""}


def test_a_saved_no_is_shown_again_and_saved_again_as_no(world):
    order = awaiting_va(world)
    og = og_client(world)
    url = f"/sons/commandes/{order.reference}/"
    first, second = order.items.order_by("pk")
    form = form_as_shown(og.get(url).content.decode(), order)
    form[f"{first.pk}-va_tbb1"] = "non"
    form[f"{second.pk}-va_prestation_done"] = "oui"
    response = og.post(f"{url}va/", form, follow=True)
    assert "Réponses de la VA enregistrées" in response.content.decode()
    saved = answers(order)
    assert saved[(first.establishment.finess_et, "va_tbb1")] is False
    assert saved[(second.establishment.finess_et, "va_prestation_done")] is True
    # A question left at « — » stays unanswered (None), it does not become « oui ».
    assert sorted(v for v in saved.values() if v is not None) == [False, True]
    assert sum(v is None for v in saved.values()) == 6

    page = og.get(url).content.decode()
    again = form_as_shown(page, order)
    assert again[f"{first.pk}-va_tbb1"] == "non"
    assert again[f"{second.pk}-va_prestation_done"] == "oui"
    assert re.search(r'<option value="non" selected>non</option>', select_of(page, f"{first.pk}-va_tbb1"))
    og.post(f"{url}va/", again)  # the OG saves the page as it shows it
    assert answers(order) == saved


def test_an_unknown_answer_is_refused_and_nothing_is_saved(world):
    order = awaiting_va(world)
    og = og_client(world)
    url = f"/sons/commandes/{order.reference}/"
    first, second = order.items.order_by("pk")
    form = form_as_shown(og.get(url).content.decode(), order)
    form[f"{first.pk}-va_tbb1"] = "non"
    form[f"{second.pk}-va_tbb1"] = "peut-être"
    page = og.post(f"{url}va/", form, follow=True).content.decode()
    assert "VA refusée" in page and "peut-être" in page
    assert set(answers(order).values()) == {None}


def test_a_saved_answer_is_not_erased_by_a_page_opened_before_it(world):
    """Two tabs: the first saves « non »; the second, opened before, still shows « — » and is refused whole."""
    order = awaiting_va(world)
    og = og_client(world)
    url = f"/sons/commandes/{order.reference}/"
    first, second = order.items.order_by("pk")
    stale = form_as_shown(og.get(url).content.decode(), order)
    og.post(f"{url}va/", {**stale, f"{first.pk}-va_tbb1": "non"})
    page = og.post(f"{url}va/", {**stale, f"{second.pk}-va_tbb1": "oui"}, follow=True).content.decode()
    assert "la réponse enregistrée « non » ne s&#x27;efface pas" in page
    saved = answers(order)
    assert saved[(first.establishment.finess_et, "va_tbb1")] is False
    assert saved[(second.establishment.finess_et, "va_tbb1")] is None
