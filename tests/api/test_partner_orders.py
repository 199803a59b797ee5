"""An éditeur's system records, advances and cancels a SONS order through the API alone, with the page's rules."""

from __future__ import annotations

import hashlib

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from esms_numerique.partners.models import SignedOrderForm
from esms_numerique.sons.models import Order, OrderItem
from esms_numerique.sons.services import record_va

from .conftest import BZH, IDF, OG_BZH, PDF

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ms1_open(settings):
    settings.ESMS_TODAY = "2023-05-02"


def order_body(world, numbers, **extra) -> dict:
    return {
        "couloir": "MS1",
        "og_finess_ej": OG_BZH,
        "solution": world["solution"].pk,
        "sector": "PA",
        "signed_on": "2023-05-01",
        "essms": [{"finess_et": n, "current_version": "4.2", "target_version": "5.0"} for n in numbers],
        **extra,
    }


def test_an_editeur_creates_advances_and_cancels_an_order_through_the_api(world, as_role):
    editeur, national = as_role("editeur"), as_role("national")
    solutions = editeur.get("/api/sons/solutions").json()
    assert [s["id"] for s in solutions] == [world["solution"].pk]

    created = editeur.post("/api/sons/commandes", order_body(world, BZH[0:2]))
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["state"] == "commande_signee"
    assert (order["total_eur"], order["advance_eur"]) == (order["total_eur"], round(order["total_eur"] * 0.3))
    assert [e["finess_et"] for e in order["essms"]] == BZH[0:2]
    assert "demander_avance" in [t["name"] for t in order["transitions"]]
    reference = order["reference"]

    pdf = SimpleUploadedFile("bon-signe.pdf", PDF, content_type="application/pdf")
    uploaded = editeur.upload(f"/api/sons/commandes/{reference}/bon-signe", file=pdf)
    assert uploaded.status_code == 201, uploaded.content
    assert SignedOrderForm.objects.get(order__reference=reference).original_name == "bon-signe.pdf"
    not_pdf = editeur.upload(f"/api/sons/commandes/{reference}/bon-signe", file=SimpleUploadedFile("x.pdf", b"PK"))
    assert not_pdf.status_code == 400

    advanced = editeur.post(
        f"/api/sons/commandes/{reference}/transitions", {"transition": "demander_avance", "version": order["version"]}
    )
    assert advanced.status_code == 200, advanced.content
    assert advanced.json()["state"] == "avance_demandee"
    paid = national.post(
        f"/api/sons/commandes/{reference}/transitions",
        {"transition": "verser_avance", "version": advanced.json()["version"], "payment_reference": "ASP-1"},
    )
    assert paid.status_code == 200, paid.content
    assert paid.json()["advance_paid_eur"] == order["advance_eur"]

    stale_body = {"transition": "annuler", "version": 1, "comment": "x"}
    stale = editeur.post(f"/api/sons/commandes/{reference}/transitions", stale_body)
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflit_de_version"
    no_reason = editeur.post(
        f"/api/sons/commandes/{reference}/transitions", {"transition": "annuler", "version": paid.json()["version"]}
    )
    assert no_reason.status_code == 400
    assert "motif" in no_reason.json()["detail"]
    cancelled = editeur.post(
        f"/api/sons/commandes/{reference}/transitions",
        {"transition": "annuler", "version": paid.json()["version"], "comment": "L'OG renonce."},
    )
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "annulee"
    assert cancelled.json()["recovery_eur"] == order["advance_eur"]  # the advance is owed back (D-SONS-RECOVERY)
    assert Order.objects.get(reference=reference).state == "annulee"


def test_the_orders_rules_refuse_with_their_ids(world, as_role):
    editeur = as_role("editeur")
    assert editeur.post("/api/sons/commandes", order_body(world, BZH[0:1])).status_code == 201
    again = editeur.post("/api/sons/commandes", order_body(world, BZH[0:1]))
    assert again.status_code == 400
    assert again.json()["code"] == "refus_regle"
    assert again.json()["rules"] == ["S-ONCE"]
    foreign_essms = editeur.post("/api/sons/commandes", order_body(world, IDF[0:1]))
    assert foreign_essms.status_code == 400
    assert "S-ELIG" in foreign_essms.json()["rules"]
    wrong_couloir = editeur.post("/api/sons/commandes", order_body(world, BZH[1:2], couloir="MS2"))
    assert wrong_couloir.status_code == 400
    assert wrong_couloir.json()["errors"] == ["champ « couloir » : la solution DUI relève du couloir MS1 (S-ELIG)"]
    bad = editeur.post("/api/sons/commandes", order_body(world, BZH[1:2], signed_on="hier"))
    assert bad.status_code == 400
    assert bad.json()["code"] == "entree_invalide"
    assert any("signed_on" in e for e in bad.json()["errors"])
    assert Order.objects.count() == 1


def test_orders_are_refused_to_whoever_does_not_own_them(world, as_role):
    created = as_role("editeur").post("/api/sons/commandes", order_body(world, BZH[0:1])).json()
    url = f"/api/sons/commandes/{created['reference']}"
    assert as_role("autre_editeur").get(url).status_code == 404
    assert as_role("autre_porteur").get(url).status_code == 404
    assert as_role("porteur").get(url).status_code == 200  # the client OG reads it
    advance = {"transition": "demander_avance", "version": created["version"]}
    assert as_role("autre_editeur").post(f"{url}/transitions", advance).status_code == 404
    refused = as_role("porteur").post(f"{url}/transitions", advance)
    assert refused.status_code == 403
    assert refused.json()["code"] == "interdit"
    assert as_role("porteur").post("/api/sons/commandes", order_body(world, BZH[1:2])).status_code == 403
    other = order_body(world, BZH[1:2], solution=world["other_solution"].pk)
    assert as_role("editeur").post("/api/sons/commandes", other).status_code == 400  # not its solution
    listed = as_role("autre_editeur").get("/api/sons/commandes").json()
    assert listed == {"items": [], "next_cursor": None}
    assert Order.objects.get().state == "commande_signee"


def test_the_balance_is_requested_through_the_api_once_the_og_signed_the_va(world, as_role):
    editeur, national, og = as_role("editeur"), as_role("national"), as_role("porteur")
    order = editeur.post("/api/sons/commandes", order_body(world, BZH[0:1])).json()
    url = f"/api/sons/commandes/{order['reference']}/transitions"

    def step(api, transition: str, expected: int = 200):
        version = Order.objects.get(reference=order["reference"]).version
        response = api.post(url, {"transition": transition, "version": version})
        assert response.status_code == expected, response.content
        return response.json()

    step(editeur, "demander_avance")
    step(national, "verser_avance")
    step(editeur, "declarer_prestation")
    assert "VA incomplète" in step(og, "signer_va", 400)["detail"]
    record_va(world["users"]["porteur"], Order.objects.get(), BZH[0], dict.fromkeys(OrderItem.VA_FIELDS, True))
    step(og, "signer_va")
    assert step(editeur, "demander_solde")["state"] == "solde_demande"
    paid = step(national, "verser_solde")
    assert paid["balance_paid_eur"] == order["balance_eur"]


def test_a_throttle_per_address_answers_429(world, as_role, settings):
    cache.clear()
    settings.ESMS_THROTTLE_RATES = {**settings.ESMS_THROTTLE_RATES, "api_adresse": "3/min"}
    roles = ("editeur", "porteur", "ars", "national")
    statuses = [as_role(role).get("/api/sons/commandes").status_code for role in roles]
    assert statuses == [200, 200, 200, 429]  # four tokens, one address


def test_the_signed_form_is_replaced_until_the_advance_is_paid_then_read_by_who_sees_the_order(world, as_role):
    from esms_numerique.audit.models import AuditEntry

    editeur, national = as_role("editeur"), as_role("national")
    order = editeur.post("/api/sons/commandes", order_body(world, BZH[0:2])).json()
    url = f"/api/sons/commandes/{order['reference']}/bon-signe"
    assert editeur.get(url).status_code == 404  # none yet
    first = SimpleUploadedFile("premier.pdf", PDF, content_type="application/pdf")
    assert editeur.upload(url, file=first).status_code == 201
    second_pdf = PDF + b"% seconde version\n"
    replaced = editeur.upload(url, file=SimpleUploadedFile("second.pdf", second_pdf, content_type="application/pdf"))
    assert replaced.status_code == 201, replaced.content
    entry = AuditEntry.objects.filter(action="upload_signed_order_form").order_by("-id").first()
    assert entry.before["fichier"] == "premier.pdf" and entry.before["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert entry.after["sha256"] == hashlib.sha256(second_pdf).hexdigest()

    # the OG, the éditeur and the CNSA read it; another éditeur does not see the order
    for role in ("editeur", "porteur", "national"):
        got = as_role(role).get(url)
        assert got.status_code == 200, role
        assert b"".join(got.streaming_content) == second_pdf
        assert 'filename="second.pdf"' in got["Content-Disposition"]
    assert as_role("autre_editeur").get(url).status_code == 404

    advanced = editeur.post(url.replace("bon-signe", "transitions"), {"transition": "demander_avance", "version": 1})
    national.post(
        url.replace("bon-signe", "transitions"),
        {"transition": "verser_avance", "version": advanced.json()["version"], "payment_reference": "ASP-1"},
    )
    late = editeur.upload(url, file=SimpleUploadedFile("tardif.pdf", PDF, content_type="application/pdf"))
    assert late.status_code == 409
    assert late.json()["code"] == "bon_signe_fige"
    assert "ne se remplace plus" in late.json()["detail"]
    assert SignedOrderForm.objects.get(order__reference=order["reference"]).original_name == "second.pdf"


def test_couloirs_and_sectors_come_from_the_parameters(world, as_role):
    """The couloirs of the SONS calendar and the sectors are the dated parameters' (no list written in the code);
    another value is refused in French, naming its field and the accepted values."""
    from esms_numerique.api.api import api
    from esms_numerique.rules.parameters import default_tree

    tree = default_tree()
    couloirs = {row["couloir"] for dated in tree.get("sons/calendar.couloirs").values for row in dated.value}
    sectors = {row["code"] for dated in tree.get("sectors.sectors").values for row in dated.value}
    schema = api.get_openapi_schema()["components"]["schemas"]["OrderIn"]["properties"]
    assert set(schema["couloir"]["enum"]) == couloirs
    assert set(schema["sector"]["enum"]) == sectors | {""}
    bad = as_role("editeur").post("/api/sons/commandes", order_body(world, BZH[0:1], couloir="MS9", sector="XX"))
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert any(e.startswith("champ « couloir »") and "MS1" in e for e in errors), errors
    assert any(e.startswith("champ « sector »") for e in errors), errors
