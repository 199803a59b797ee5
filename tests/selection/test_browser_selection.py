"""Selection in a real browser (Debian's chromium, Playwright), at 1280 and 375 px, without a console error: CNSA
sets the envelope, the ARS fills a dossier's grid, asks for a proposal, takes one dossier out of it with a reason,
the committee decides; the envelope figures follow each step (issue 13)."""

from __future__ import annotations

import datetime as dt

import pytest

from esms_numerique.dossiers import committees
from esms_numerique.selection import services
from esms_numerique.selection.models import DecisionLink, Override
from tests.browser_steps import logged_in
from tests.conftest import CHROMIUM
from tests.www.test_browser_csp import watch

from .conftest import essms, instructed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]


def euros(text: str) -> str:
    return text.replace("\u202f", " ").strip()


def figures(page) -> dict[str, str]:
    return {
        name: euros(page.inner_text(f'#budget [data-figure="{name}"]'))
        for name in ("envelope", "engaged", "proposed", "remaining")
    }


def signed_in(browser, live_server, username: str, width: int):
    page = logged_in(browser, live_server, username)
    page.set_viewport_size({"width": width, "height": 900})
    return page


def fits(page) -> bool:
    """Nothing wider than the screen: wide tables scroll inside their DSFR wrapper."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1280, 375])
def test_envelope_grid_proposal_override_and_decision(live_server, browser, users, width):
    y = instructed(users, "Y", essms(0, 5))
    z = instructed(users, "Z", essms(5, 5))
    notes = dict.fromkeys(services.rules.grid_on(dt.date(2024, 3, 11)).codes(), 2)
    services.save_grid(users["ars"], z, notes, {})
    committee = committees.create_committee(users["ars"], "Comité d'avril", dt.date(2024, 4, 10), dt.date(2024, 3, 31))

    # CNSA sets the 2024 envelope of Bretagne, with its reference and reason.
    cnsa = signed_in(browser, live_server, "cnsa", width)
    problems = watch(cnsa)
    cnsa.goto(f"{live_server.url}/selection/enveloppes/")
    cnsa.select_option("select[name=campaign]", "2024")
    cnsa.select_option("select[name=region]", "53")
    cnsa.fill("input[name=amount_eur]", "250000")
    cnsa.fill("input[name=effective_on]", "2024-01-15")
    cnsa.fill("input[name=reference]", "Délégation CNSA 2024, annexe 1")
    cnsa.fill("textarea[name=reason]", "Campagne 2024.")
    cnsa.get_by_role("button", name="Enregistrer").click()
    cnsa.wait_for_load_state()
    assert "Enveloppe enregistrée." in cnsa.inner_text("main")
    assert fits(cnsa)
    assert problems == [], "\n".join(problems)

    # The ARS fills Y's grid: « solution mutualisée » comes prefilled from the grappe.
    ars = signed_in(browser, live_server, "ars_bretagne", width)
    problems = watch(ars)
    ars.goto(f"{live_server.url}/dossiers/{y.reference}/grille/")
    assert ars.locator("select[name=note_mutualisation]").input_value() == "1"  # one OG, two sectors
    for code in services.rules.grid_on(dt.date(2024, 3, 11)).codes():
        ars.select_option(f"select[name=note_{code}]", "3")
    ars.fill("textarea[name=comment_maturite]", "Calendrier d'opérationnalité précis.")
    ars.locator("main form button[type=submit]").last.click()
    ars.wait_for_load_state()
    assert "Grille enregistrée." in ars.inner_text("main")
    assert fits(ars)

    # The committee's page: the envelope, nothing engaged nor proposed yet; then the proposal.
    ars.goto(f"{live_server.url}/comites/{committee.pk}/")
    assert figures(ars) == {"envelope": "250 000 €", "engaged": "0 €", "proposed": "0 €", "remaining": "250 000 €"}
    ars.locator("#proposal-link").click()
    ars.wait_for_load_state()
    ars.get_by_role("button", name="Calculer la proposition").click()
    ars.wait_for_load_state()
    summary = euros(ars.inner_text("#proposal-summary"))
    assert "2 dossier(s) proposé(s) pour 210 000 €" in summary and "optimum prouvé" in summary
    assert figures(ars)["proposed"] == "210 000 €"
    assert fits(ars)

    # The committee takes Z out of the proposal, with its reason.
    ars.fill(f"#reason-{z.reference}", "Le porteur de Z n'a pas confirmé son éditeur.")
    ars.locator(f'[data-override-form="{z.reference}"] button[type=submit]').click()
    ars.wait_for_load_state()
    assert "ajouté" not in ars.inner_text(f'tr[data-reference="{z.reference}"] [data-override]')
    assert ars.locator(f'#proposal-dossiers tr[data-reference="{z.reference}"]').get_attribute("data-chosen") == "non"
    assert Override.objects.get().reason == "Le porteur de Z n'a pas confirmé son éditeur."
    assert figures(ars) == {
        "envelope": "250 000 €",
        "engaged": "0 €",
        "proposed": "105 000 €",
        "remaining": "145 000 €",
    }

    # The committee puts Y on its agenda and retains it: engaged now, no longer proposed.
    ars.goto(f"{live_server.url}/comites/{committee.pk}/")
    ars.locator("#eligible li", has_text=y.reference).get_by_role("button", name="Inscrire").click()
    ars.wait_for_load_state()
    row = ars.locator(f'#agenda tr[data-reference="{y.reference}"]')
    assert "proposé" in row.inner_text()
    row.locator("select[name=decision]").select_option("retenu")
    row.locator("textarea[name=reason]").fill("Meilleur score de la grille.")
    row.get_by_role("button", name="Décider").click()
    ars.wait_for_load_state()
    row = ars.locator(f'#agenda tr[data-reference="{y.reference}"]')
    assert "Retenu — Meilleur score de la grille." in row.inner_text()
    assert row.locator('[data-followed="oui"]').count() == 1
    assert figures(ars) == {
        "envelope": "250 000 €",
        "engaged": "105 000 €",
        "proposed": "0 €",
        "remaining": "145 000 €",
    }
    link = DecisionLink.objects.get()
    assert (link.proposed, link.followed) == (True, True)
    assert fits(ars)
    # The coverage of Bretagne: Y's 5 ESSMS funded, none proposed any more, the rest never funded.
    ars.goto(f"{live_server.url}/selection/couverture/")
    assert ars.locator("#coverage-map svg g[data-region]").count() == 18
    assert euros(ars.inner_text("#coverage-totals")).startswith("21 ESSMS · 5 financés")
    assert fits(ars)
    assert problems == [], "\n".join(problems)
