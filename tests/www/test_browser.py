"""A real browser (Debian's chromium, driven by Playwright) fills the web simulator and reads the amounts."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM
from tests.rules.grappes import finess_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]


def test_a_porteur_simulates_a_national_grappe(live_server, browser):
    lines = [f"{finess_for('35', n)};PA;acquisition;35;80" for n in range(30)]
    lines += [f"{finess_for('44', n)};PH;montée de version;44;80" for n in range(22)]
    page = browser.new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Simuler un projet").click()
    page.select_option("select[name=campaign]", "2024")
    page.fill("input[name=filed_on]", "2024-05-20")
    page.get_by_label("Solution DUI référencée Ségur (vague 1)").check(force=True)
    page.fill("textarea[name=essms]", "\n".join(lines))
    page.get_by_role("button", name="Simuler").click()

    assert page.inner_text("#desk") == "national (CNSA et DNS)"
    assert page.inner_text("#pivot") == "Bretagne"
    assert page.inner_text("#essms-count") == "52"
    # 30 acquisitions ranked first at 7 000 + 14 000 €; of the 22 upgrades, 19 at 5 000 € and 3 at 2 000 €.
    amount = {
        name: page.inner_text(f'[data-amount="{name}"]').replace("\u202f", " ")
        for name in ("usage", "software", "total", "advance")
    }
    assert amount == {"usage": "311 000 €", "software": "420 000 €", "total": "731 000 €", "advance": "365 500 €"}
    assert page.locator('[data-rule="F-COUNT"]').first.inner_text().count("Projet mixte") == 1
    page.close()


def test_a_mistyped_line_is_shown_in_french(live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server.url}/simulateur/")
    page.fill("textarea[name=essms]", "350000023;PA;acquisition;35")
    page.get_by_role("button", name="Simuler").click()
    findings = page.locator('[data-rule="E-FINESS"][data-verdict="bloquant"]').inner_text()
    assert "clé de contrôle fausse" in findings
    page.close()


def test_the_result_updates_while_the_porteur_types(live_server, browser):
    page = browser.new_page()
    page.goto(f"{live_server.url}/simulateur/")
    page.fill("input[name=filed_on]", "2024-03-10")
    page.get_by_label("Solution DUI référencée Ségur (vague 1)").check(force=True)
    page.locator("textarea[name=essms]").press_sequentially("350000022;PA;acquisition;35;12", delay=5)
    page.wait_for_selector('#apercu [data-amount="total"]')
    assert page.inner_text('#apercu [data-amount="total"]').replace("\u202f", " ") == "21 000 €"
    page.close()
