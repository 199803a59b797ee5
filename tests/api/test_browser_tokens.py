"""The API access page in a real browser at 375 px (Debian's chromium, Playwright): a token created, read once,
used against the API, revoked; no console error, no policy violation, no horizontal scrolling, no axe-core WCAG
A/AA violation beyond those docs/accessibilite.md accepts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.browser_steps import logged_in
from tests.conftest import CHROMIUM
from tests.dossiers.conftest import campaign_2024, registry, users  # noqa: F401 (fixtures)
from tests.www.test_browser_csp import watch
from tests.www.test_browser_walk_a11y import accepted_rules, axe_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]


def api_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_token_is_created_used_and_revoked_on_a_small_screen(live_server, browser, users):  # noqa: F811
    page = logged_in(browser, live_server, "porteur")
    page.set_viewport_size({"width": 375, "height": 800})
    problems = watch(page)
    page.goto(f"{live_server.url}/compte/api/")
    page.fill("#token-name", "SI de l'OG")
    page.get_by_label("Lecture et écriture").check(force=True)
    page.click("#token-create button[type=submit]")
    token = page.input_value("#new-token-value")
    assert token.startswith("esmsn_")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    violations = [v for v in axe_violations(page) if v.split(" ", 1)[0] not in accepted_rules()]
    assert violations == [], "\n".join(violations)
    assert api_status(f"{live_server.url}/api/dossiers", token) == 200

    page.goto(f"{live_server.url}/compte/api/")
    assert page.locator("#new-token-value").count() == 0  # shown once
    page.get_by_role("button", name="Révoquer").click()
    page.wait_for_load_state()
    assert "révoqué" in page.inner_text("main")
    assert api_status(f"{live_server.url}/api/dossiers", token) == 401
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    violations = [v for v in axe_violations(page) if v.split(" ", 1)[0] not in accepted_rules()]
    assert violations == [], "\n".join(violations)
    assert problems == [], "\n".join(problems)
