"""SONS23 documents of an order, checked as text and rendered to pages."""

from __future__ import annotations

import pytest

from esms_numerique.sons.documents import cancellation_attestation, order_form, va_attestation
from esms_numerique.sons.services import record_va
from tests.pdfs import needs_poppler, pdf_text, rendered_pages

from .conftest import ESSMS
from .test_orders import YES, sign, step

pytestmark = pytest.mark.django_db


@needs_poppler
def test_order_form_va_and_cancellation(world, tmp_path):
    order = sign(world, ESSMS[:3])
    form = order_form(order)
    assert form == order_form(order)  # reproducible
    content = pdf_text(form)
    for mention in (
        "Référence de l'appel à financement",
        "AF-MS1-DUI-Va1",
        order.reference,
        "n'ont ou ne souhaitent pas bénéficier des financements pour acquisition",
        ESSMS[0],
        "73282932000074",
        "tranche E",
        "3 696 €",
    ):
        assert mention in content, mention
    assert len(rendered_pages(form, tmp_path)) >= 1
    assert rendered_pages(form, tmp_path)[0].stat().st_size > 2000

    for name, who in (("demander_avance", "editeur"), ("verser_avance", "cnsa"), ("declarer_prestation", "editeur")):
        order = step(world[who], order, name)
    record_va(world["og_user"], order, ESSMS[0], YES)
    record_va(world["og_user"], order, ESSMS[1], {**YES, "va_tbb1": False})
    va = pdf_text(va_attestation(order))
    assert "Attestation de vérification d'aptitude (VA)" in va
    assert "TBB.1" in va and "oui" in va and "non" in va and "à renseigner" in va

    cancel = pdf_text(cancellation_attestation(order, "Changement de projet"))
    assert f"j'annule la commande n° {order.reference} signée le 01/05/2023" in cancel
    assert "un seul financement par SONS" in cancel


def test_an_order_for_several_ogs_pays_each_at_its_tranche(world):
    from esms_numerique.registry.models import LegalEntity
    from esms_numerique.sons.services import ItemRequest, sign_order

    other = LegalEntity.objects.get(finess_ej="290000009")
    order = sign_order(
        world["editeur"],
        world["og"],
        world["solution"],
        "PA",
        __import__("datetime").date(2023, 5, 1),
        [
            ItemRequest(ESSMS[0], "4.2", "5.0"),
            ItemRequest(ESSMS[1], "4.2", "5.0"),
            ItemRequest("290000017", "4.2", "5.0"),
        ],
        other_ogs=(other,),
    )
    # 35-ESSMS OG in tranche E (1 232 €), 1-ESSMS OG in tranche A (4 000 €)
    assert [(c["finess_ej"], c["tranche"], c["total_eur"]) for c in order.result["clients"]] == [
        ("350000014", "E", 2464),
        ("290000009", "A", 4000),
    ]
    assert (order.result["total_eur"], order.result["advance_eur"]) == (6464, 1939)
    content = pdf_text(order_form(order))
    assert "DUI Cas B : plusieurs OG" in content
    assert "290000009" in content and "6 464 €" in content
