"""The pages work under their Content-Security-Policy in a real browser (Debian's chromium, Playwright): the home
page, the simulator (a grappe submitted, the preview updated by htmx), the dossier list (its filter applied by the
site's script) and the API documentation (Swagger UI served by the site), with no console error and no policy
violation (DECISION D-LIMITS)."""

from __future__ import annotations

import pytest

from esms_numerique.dossiers.services import create_dossier
from tests.browser_steps import logged_in
from tests.conftest import CHROMIUM
from tests.dossiers.conftest import campaign_2024, grappe, registry, users  # noqa: F401 (fixtures)
from tests.rules.grappes import finess_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]

# Every violation is also reported here, whatever the console says of it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""


def watch(page) -> list[str]:
    """The console errors, page errors and policy violations of `page`, and every request that left the site."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error} {error.stack}"))
    page.add_init_script(REPORT_VIOLATIONS)
    return problems


def policy_of(response) -> str:
    return response.headers.get("content-security-policy", "")


def test_the_pages_work_under_their_policy(live_server, browser, users):  # noqa: F811
    create_dossier(users["porteur"], "Grappe Bretagne", "2024", grappe())
    outside: list[str] = []

    visitor = browser.new_context().new_page()
    problems = watch(visitor)
    visitor.on("request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url))
    home = visitor.goto(f"{live_server.url}/")
    assert "script-src 'self'" in policy_of(home)
    assert "unsafe-inline" not in policy_of(home)
    assert "camera=()" in home.headers["permissions-policy"]

    visitor.get_by_role("link", name="Simuler un projet").click()
    visitor.fill("input[name=filed_on]", "2024-03-10")
    visitor.get_by_label("Solution DUI référencée Ségur (vague 1)").check(force=True)
    visitor.locator("textarea[name=essms]").press_sequentially(f"{finess_for('35', 1)};PA;acquisition;35;12", delay=5)
    visitor.wait_for_selector('#apercu [data-amount="total"]')
    visitor.get_by_role("button", name="Simuler").click()
    assert visitor.inner_text('[data-amount="total"]').replace("\u202f", " ") == "21 000 €"

    docs = visitor.goto(f"{live_server.url}/api/docs")
    assert "script-src 'self'" in policy_of(docs)
    visitor.wait_for_selector(".swagger-ui .opblock-summary-path")
    assert visitor.locator(".swagger-ui .opblock-summary-path", has_text="/api/simulation").count() == 1
    assert problems == [], "\n".join(problems)

    porteur = logged_in(browser, live_server, "porteur")
    problems = watch(porteur)
    porteur.on("request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url))
    listing = porteur.goto(f"{live_server.url}/dossiers/")
    assert "script-src 'self'" in policy_of(listing)
    assert porteur.locator("#dossiers tbody tr").count() == 1
    # The filter applies as soon as it is chosen: the site's script, not an inline handler, submits it.
    state = porteur.locator("#etat option").nth(1).get_attribute("value")
    with porteur.expect_navigation():
        porteur.select_option("#etat", state)
    assert f"etat={state}" in porteur.url
    assert problems == [], "\n".join(problems)
    assert outside == []
