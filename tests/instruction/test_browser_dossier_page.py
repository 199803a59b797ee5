"""The dossier's page in a real browser (Debian's chromium, Playwright), as the pivot ARS and as the other ARS of a
multiregional dossier, on a desktop (1 280 px) and a phone (375 px): no console error (the test fails on one), no
horizontal scroll of the page, no axe-core A/AA violation beyond those docs/accessibilite.md accepts; the ARS takes
the dossier, asks an opinion and declares it not admissible through the confirmation step."""

from __future__ import annotations

import pytest

from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from tests.browser_steps import logged_in
from tests.conftest import CHROMIUM
from tests.instruction import conftest as world
from tests.instruction.conftest import IDF
from tests.www.test_browser_walk_a11y import accepted_rules, axe_violations, watch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]

campaign_2024, registry, users, multiregional = world.campaign_2024, world.registry, world.users, world.multiregional
WIDTHS = {"bureau": 1280, "téléphone": 375}


def signed_in(browser, live_server, username: str, width: int):
    page = logged_in(browser, live_server, username)
    page.set_viewport_size({"width": width, "height": 900})
    return page


def check_page(page, problems: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    width = page.evaluate("() => window.innerWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "la page défile en largeur"
    accepted = accepted_rules()
    violations = [v for v in axe_violations(page) if v.split(" ", 1)[0] not in accepted]
    assert not violations, "\n".join(violations)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_the_dossier_page_as_ars_in_the_browser(live_server, browser, users, multiregional, screen):
    url = f"{live_server.url}/dossiers/{multiregional.reference}/"
    ars = signed_in(browser, live_server, "ars_bretagne", WIDTHS[screen])
    problems = watch(ars)
    ars.goto(url)
    check_page(ars, problems)
    assert ars.text_content("#state").strip() == "Déposé"
    assert "EHPAD BRETON 0" in ars.inner_text("#essms-table")
    assert ars.locator("#resume").is_visible() and ars.locator("#actions").is_visible()

    ars.get_by_role("button", name="M'attribuer le dossier").click()
    ars.wait_for_load_state()
    assert "Dossier attribué à vous." in ars.inner_text("#messages")
    assert "ars_bretagne" in ars.inner_text("#assignment")

    ars.locator("#ask-opinion summary").click()
    ars.select_option("#opinion-form select[name=expert]", str(users["expert"].pk))
    ars.fill("#opinion-form textarea[name=question]", "Un projet concurrent au département ?")
    ars.get_by_role("button", name="Demander l'avis").click()
    ars.wait_for_load_state()
    assert "Avis demandé à expert_cd35" in ars.inner_text("#messages")
    assert "Un projet concurrent au département ?" in ars.inner_text("#opinions")

    ars.locator('form[data-transition="declarer_non_recevable"] button[type=submit]').click()
    ars.wait_for_load_state()
    check_page(ars, problems)
    assert "Cette décision est défavorable au porteur" in ars.inner_text("#confirm-warning")
    ars.fill("#confirm-form textarea[name=comment]", "Pièces essentielles absentes.")
    ars.get_by_role("button", name="Confirmer : Déclarer non recevable").click()
    ars.wait_for_load_state()
    assert "Dossier désormais « Non recevable »" in ars.inner_text("#messages")
    assert ars.text_content("#state").strip() == "Non recevable"
    assert Dossier.objects.get(pk=multiregional.pk).state == State.NON_RECEVABLE
    check_page(ars, problems)

    other = signed_in(browser, live_server, "ars_idf", WIDTHS[screen])
    other_problems = watch(other)
    other.goto(url)
    check_page(other, other_problems)
    assert other.locator("tr[data-highlighted=true]").count() == len(IDF)
    assert "dans votre région" in other.inner_text("#multiregional-notice")
    assert other.locator("form[data-transition]").count() == 0
