"""The whole lifecycle in a real browser (Debian's chromium, Playwright): a porteur builds a 20-ESSMS grappe
and files it; the ARS asks a correction; the porteur answers; the ARS declares it admissible, takes it to a
committee, retains it, records the convention and the advance; the balance is paid once targets are met."""

from __future__ import annotations

import json

import pytest

from esms_numerique.dossiers.models import Dossier
from tests.browser_steps import act, logged_in
from tests.conftest import CHROMIUM

from .conftest import GRAPPE_FINESS, PDF, STANDARD_PIECES, measurements

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
    porteur.fill("textarea[name=essms]", "\n".join(GRAPPE_FINESS))
    porteur.get_by_role("button", name="Enregistrer").click()
    assert porteur.inner_text("#essms-count") == "20"
    assert porteur.inner_text('[data-amount="total"]').replace("\u202f", " ") == "420 000 €"
    for code in STANDARD_PIECES:
        porteur.select_option("#piece-form select[name=code]", code)
        porteur.set_input_files(
            "#piece-form input[name=file]",
            files=[{"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        porteur.get_by_role("button", name="Joindre la pièce").click()
        porteur.wait_for_load_state()
    assert porteur.locator("#pieces li").count() == len(STANDARD_PIECES)
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
    assert ars.inner_text("#engaged").replace("\u202f", " ") == "420 000 €"
    for transition in ("engager", "signer_convention", "verser_avance"):
        act(ars, transition)
    assert ars.text_content("#state").strip() == "Avance versée"
    assert "18 mois après la convention" in ars.inner_text("#deadline")

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
    assert porteur.locator("#measurements tbody tr").count() == 20
    # The trajectory chart is an SVG drawn by the server: it loads, for the project and for one ESSMS.
    porteur.wait_for_function("document.getElementById('trajectory-chart').naturalWidth > 0")
    one = porteur.locator("#essms option").nth(1).get_attribute("value")
    porteur.select_option("#essms", one)
    porteur.get_by_role("button", name="Afficher").click()
    porteur.wait_for_function("document.getElementById('trajectory-chart').naturalWidth > 0")
    assert porteur.get_attribute("#trajectory-chart", "src").endswith(f"?essms={one}")
    assert porteur.locator("#project-trajectory tbody tr").count() == 1
    ars.reload()
    act(ars, "enregistrer_cibles")
    form = ars.locator('form[data-transition="verser_solde"]')
    form.locator("button[type=submit]").click()
    ars.wait_for_load_state()
    assert "état récapitulatif des dépenses" in ars.inner_text("main")
    ars.locator('form[data-transition="verser_solde"] input[type=checkbox]').check(force=True)
    act(ars, "verser_solde")
    assert ars.text_content("#state").strip() == "Solde versé"

    dossier = Dossier.objects.get()
    assert (dossier.advance_paid_eur, dossier.balance_paid_eur) == (210000, 210000)
    assert dossier.transitions.count() == 13
