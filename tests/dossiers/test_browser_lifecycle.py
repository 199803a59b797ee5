"""The whole lifecycle in a real browser (Debian's chromium, Playwright): a porteur builds a 21-ESSMS grappe (one
of a small OG, with hardware) and files it; the ARS asks a correction; the porteur answers; the ARS declares it
admissible, takes it to a committee, retains it, engages it and records the convention; the porteur asks for the
advance, the ARS approves and pays it; an ESSMS leaves the grappe; the deadline is extended; the balance, reduced
for the hardware not spent, is asked for, approved and paid once the targets are met; the dossier is closed."""

from __future__ import annotations

import json

import pytest

from esms_numerique.dossiers.models import Dossier
from tests.browser_steps import act, logged_in
from tests.conftest import CHROMIUM
from tests.pdfs import pdf_text

from .conftest import GRAPPE_FINESS, PDF, STANDARD_PIECES, measurements

SMALL_OG_ESSMS = "290000017"


def euros(text: str) -> str:
    return text.replace("\u202f", " ").strip()


pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]


def test_full_lifecycle_in_the_browser(live_server, browser, users, settings):
    porteur = logged_in(browser, live_server, "porteur")
    porteur.goto(f"{live_server.url}/dossiers/")
    porteur.get_by_role("link", name="Nouveau dossier").click()
    porteur.fill("input[name=title]", "DUI des EHPAD et IME d'Ille-et-Vilaine")
    porteur.select_option("select[name=campaign]", "2024")
    porteur.select_option("select[name=vat_regime]", "TTC")
    porteur.get_by_label("Solution DUI référencée Ségur (vague 1)").check(force=True)
    porteur.select_option("select[name=operation]", "acquisition")
    # The 20 ESSMS of the porteur and the one of a small OG (290000009), with 8 000 € of hardware quoted (F-EQUIP).
    porteur.fill("textarea[name=essms]", "\n".join([*GRAPPE_FINESS, SMALL_OG_ESSMS]))
    porteur.fill("input[name=equipment_quotes_eur]", "8000")
    porteur.get_by_role("button", name="Enregistrer").click()
    assert porteur.inner_text("#essms-count") == "21"
    assert euros(porteur.inner_text('[data-amount="total"]')) == "449 000 €"  # 21 × (7 000 + 14 000) + 8 000
    for code in [*STANDARD_PIECES, "plan_implantation_materiel"]:
        porteur.select_option("#piece-form select[name=code]", code)
        porteur.set_input_files(
            "#piece-form input[name=file]",
            files=[{"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        porteur.get_by_role("button", name="Joindre la pièce").click()
        porteur.wait_for_load_state()
    assert porteur.locator("#pieces li").count() == len(STANDARD_PIECES) + 1
    act(porteur, "deposer")
    assert porteur.text_content("#state").strip() == "Déposé"
    reference = Dossier.objects.get().reference

    ars = logged_in(browser, live_server, "ars_bretagne")
    ars.goto(f"{live_server.url}/dossiers/{reference}/")
    act(ars, "demander_complement", "Merci de joindre la lettre d'engagement signée.")
    assert ars.text_content("#state").strip() == "Complément demandé"

    porteur.reload()
    assert "Merci de joindre la lettre d'engagement signée." in porteur.inner_text("#thread")
    act(porteur, "completer")
    assert porteur.text_content("#state").strip() == "Complété"

    ars.reload()
    for transition in ("declarer_recevable", "instruire"):
        act(ars, transition)
    ars.get_by_role("link", name="Comités").click()
    ars.fill("input[name=label]", "Comité d'avril")
    ars.fill("input[name=date]", "2024-04-10")
    ars.fill("input[name=cutoff_date]", "2024-03-31")
    ars.get_by_role("button", name="Créer le comité").click()
    ars.locator("#eligible").get_by_role("button", name="Inscrire").click()
    ars.select_option("#agenda select[name=decision]", "retenu")
    ars.fill("#agenda textarea[name=reason]", "Projet mutualisé, deux services socles.")
    ars.get_by_role("button", name="Décider").click()
    assert "Retenu — Projet mutualisé" in ars.inner_text("#agenda")
    ars.get_by_role("link", name=reference).click()
    assert euros(ars.inner_text("#engaged")) == "449 000 €"
    ars.locator(
        'form[data-transition="engager"] textarea, form[data-transition="engager"] input[type=text]'
    ).first.fill("EJ-2024-0042")
    act(ars, "engager")
    # The notification letter and the convention to sign, as PDF, from the engaged result.
    letter = ars.request.get(f"{live_server.url}/dossiers/{reference}/notification/")
    convention = ars.request.get(f"{live_server.url}/dossiers/{reference}/convention.pdf")
    assert letter.headers["content-type"] == convention.headers["content-type"] == "application/pdf"
    letter_text, convention_text = pdf_text(letter.body()), pdf_text(convention.body())
    assert "Retenu" in letter_text or "retenu" in letter_text
    assert "449 000 €" in letter_text.replace("\u202f", " ") and "tribunal administratif" in letter_text
    assert SMALL_OG_ESSMS in convention_text and "EJ-2024-0042" in convention_text
    # The porteur uploads the convention it signed; the checklist ticks it; the ARS records the signature.
    porteur.reload()
    porteur.select_option("#piece-form select[name=code]", "convention_signee")
    porteur.set_input_files(
        "#piece-form input[name=file]",
        files=[{"name": "convention-signee.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    porteur.get_by_role("button", name="Joindre la pièce").click()
    porteur.wait_for_load_state()
    assert "convention-signee.pdf" in porteur.inner_text("#pieces")
    ars.reload()
    act(ars, "signer_convention")
    assert ars.text_content("#state").strip() == "Convention signée"

    porteur.reload()
    act(porteur, "demander_avance")
    assert porteur.text_content("#state").strip() == "Avance demandée"
    ars.reload()
    ars.locator('form[data-payment-transition="approuver"] button[type=submit]').click()
    ars.wait_for_load_state()
    ars.locator('form[data-payment-transition="verser"] [name=payment_reference]').fill("CHORUS-2024-117")
    ars.locator('form[data-payment-transition="verser"] button[type=submit]').click()
    ars.wait_for_load_state()
    assert ars.text_content("#state").strip() == "Avance versée"
    assert "CHORUS-2024-117" in ars.inner_text(".payment-request[data-kind=avance]")
    assert "18 mois après la convention" in ars.inner_text("#deadline")

    # One ESSMS leaves the grappe: a new version, re-run by the rules, the amount engaged follows.
    ars.select_option("#withdraw-form select[name=finess_et]", GRAPPE_FINESS[19])
    ars.fill("#withdraw-form textarea[name=reason]", "L'EHPAD ferme à l'été.")
    ars.locator("#withdraw-form button[type=submit]").click()
    ars.wait_for_load_state()
    versions = ars.inner_text("#grappe-versions").replace("\u202f", " ")
    assert "Retrait de l'ESSMS" in versions and "449 000 €" in versions and "428 000 €" in versions
    assert euros(ars.inner_text("#engaged")) == "428 000 €"
    ars.fill("#extend-form input[name=until]", "2026-03-31")
    ars.fill("#extend-form textarea[name=reason]", "Retard de livraison de l'éditeur.")
    ars.locator("#extend-form button[type=submit]").click()
    ars.wait_for_load_state()
    assert "31/03/2026" in ars.inner_text("#deadline")

    porteur.reload()
    act(porteur, "demarrer_deploiement")
    settings.ESMS_TODAY = "2024-07-15"  # a measurement is dated after the convention and not after today
    result = json.dumps(measurements(Dossier.objects.get(), date="2024-06-30")).encode()
    porteur.set_input_files(
        "#measurement-form input[name=result]",
        files=[{"name": "resultat.json", "mimeType": "application/json", "buffer": result}],
    )
    porteur.get_by_role("button", name="Déposer les mesures").click()
    assert "toutes les cibles sont atteintes" in porteur.text_content("#measurement-status")
    assert porteur.locator("#measurements tbody tr").count() == 20  # the 21 ESSMS less the one withdrawn
    # The trajectory chart is an SVG drawn by the server: it loads, for the project and for one ESSMS.
    porteur.wait_for_function("() => document.getElementById('trajectory-chart').naturalWidth > 0")
    one = porteur.locator("#essms option").nth(1).get_attribute("value")
    porteur.select_option("#essms", one)
    porteur.get_by_role("button", name="Afficher").click()
    porteur.wait_for_function("() => document.getElementById('trajectory-chart').naturalWidth > 0")
    assert porteur.get_attribute("#trajectory-chart", "src").endswith(f"?essms={one}")
    assert porteur.locator("#project-trajectory tbody tr").count() == 1
    ars.reload()
    act(ars, "enregistrer_cibles")
    porteur.reload()
    form = porteur.locator('form[data-transition="demander_solde"]')
    form.locator("[name=equipment_spent_eur]").fill("5000")
    form.locator("button[type=submit]").click()  # without the statement of expenses: refused
    porteur.wait_for_load_state()
    assert porteur.text_content("#state").strip() == "Cibles mesurées"
    form = porteur.locator('form[data-transition="demander_solde"]')
    form.locator("[name=equipment_spent_eur]").fill("5000")
    form.locator("input[type=checkbox]").check(force=True)
    act(porteur, "demander_solde")
    assert porteur.text_content("#state").strip() == "Solde demandé"
    balance = porteur.inner_text(".payment-request[data-kind=solde]").replace("\u202f", " ")
    assert "F-EQUIP" in balance and "-3 000 €" in balance.replace("−", "-") and "200 500 €" in balance

    ars.reload()
    ars.locator('form[data-payment-transition="approuver"] button[type=submit]').click()
    ars.wait_for_load_state()
    ars.locator('form[data-payment-transition="verser"] [name=payment_reference]').fill("CHORUS-2024-388")
    ars.locator('form[data-payment-transition="verser"] button[type=submit]').click()
    ars.wait_for_load_state()
    assert ars.text_content("#state").strip() == "Solde versé"
    act(ars, "clore")
    assert ars.text_content("#state").strip() == "Clos"

    dossier = Dossier.objects.get()
    # 428 000 engaged after the withdrawal: 224 500 advance (50 % of 449 000) + 200 500 balance (3 000 of hardware
    # not spent).
    assert (dossier.engaged_eur, dossier.advance_paid_eur, dossier.balance_paid_eur) == (428000, 224500, 200500)
    assert dossier.engagement_reference == "EJ-2024-0042"
    assert list(dossier.payment_requests.values_list("payment_reference", flat=True)) == [
        "CHORUS-2024-117",
        "CHORUS-2024-388",
    ]
