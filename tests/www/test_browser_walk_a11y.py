# ruff: noqa: F811 (pytest fixtures imported from tests.dossiers.conftest)
"""Each role walks its pages in a real browser (Debian's chromium, Playwright) on a desktop (1 280 px) and a phone
(375 px) screen: no console error on any page (the test fails on one), and axe-core checks every page for WCAG A/AA
violations. A violation is accepted only when docs/accessibilite.md lists its rule with a reason (the start of the
RGAA declaration). On the phone, the burger opens the menu, where one signs in and out (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.dossiers.services import create_dossier
from esms_numerique.sons.models import Editor
from tests.conftest import CHROMIUM
from tests.dossiers.conftest import campaign_2024, grappe, registry, users  # noqa: F401 (fixtures)
from tests.www.test_frame import filed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé"),
]

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"bureau": 1280, "téléphone": 375}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PUBLIC = ["/", "/simulateur/", "/sons/", "/plan-du-site/", "/accessibilite/", "/mentions-legales/"]
# The pages of each role's walk, after its home page.
WALKS = {
    "porteur": ["/", "/dossiers/", "{dossier}", "/dossiers/nouveau/", "/sons/commandes/", "/simulateur/"],
    "ars": ["/", "/dossiers/", "{dossier}", "/suivi/", "/comites/", "/repertoire/"],
    "national": ["/", "/dossiers/", "/suivi/", "/comites/", "/sons/commandes/"],
    "observateur": ["/", "/dossiers/", "{dossier}", "/suivi/"],
    "editeur": ["/", "/sons/commandes/", "/sons/commandes/nouvelle/"],
}


def accepted_rules() -> set[str]:
    """The axe rules docs/accessibilite.md lists with a reason (table rows « | `rule` | reason |»)."""
    text = (ROOT / "docs" / "accessibilite.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|", text, flags=re.MULTILINE))


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    return problems


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}) {page.url} : {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


def open_page(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    page.wait_for_load_state("networkidle")


def sign_in(page, base: str, username: str, phone: bool) -> None:
    open_page(page, f"{base}/")
    if phone:
        page.get_by_role("button", name="Menu").click()
        page.locator("#header-menu").get_by_role("link", name="Se connecter").click()
    else:
        page.locator("header").get_by_role("link", name="Se connecter").click()
    page.fill("#id_username", username)
    page.fill("#id_password", "x")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{base}/", page.url  # each role lands on its own home page
    assert "Vous êtes connecté(e)." in page.inner_text("#messages")


def sign_out(page, base: str, phone: bool) -> None:
    if phone:
        page.get_by_role("button", name="Menu").click()
        menu = page.locator("#header-menu")
        assert "fr-modal--opened" in (menu.get_attribute("class") or "")
        menu.get_by_role("button", name="Se déconnecter").click()
    else:
        page.locator("header .fr-header__tools").get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/"
    assert "Vous êtes déconnecté(e)" in page.inner_text("#messages")


@pytest.fixture
def walkers(users):
    editor = Editor.objects.create(name="Éditeur DUI", siret="12345678900011")
    account = User.objects.create_user("editeur", password="x")
    Profile.objects.create(user=account, role=Role.EDITEUR, editor=editor)
    create_dossier(users["porteur"], "Mon brouillon", "2024", grappe(2))
    dossier = filed(users)
    return {**users, "editeur": account, "dossier": f"/dossiers/{dossier.reference}/"}


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_every_role_walks_its_pages_without_console_error_nor_accessibility_violation(
    live_server, browser, walkers, screen
):
    base, phone = live_server.url, screen == "téléphone"
    accepted = accepted_rules()
    problems, violations = [], []

    context = browser.new_context(viewport={"width": WIDTHS[screen], "height": 900})
    visitor = context.new_page()
    problems += watch(visitor)
    for url in PUBLIC:
        open_page(visitor, f"{base}{url}")
        violations += axe_violations(visitor)
    context.close()

    for role, walk in WALKS.items():
        context = browser.new_context(viewport={"width": WIDTHS[screen], "height": 900})
        page = context.new_page()
        problems += watch(page)
        sign_in(page, base, walkers[role].get_username(), phone)
        for url in walk:
            open_page(page, base + url.format(dossier=walkers["dossier"]))
            violations += axe_violations(page)
        sign_out(page, base, phone)
        context.close()

    assert problems == [], "\n".join(problems)
    unexplained = [v for v in violations if v.split(" ", 1)[0] not in accepted]
    assert unexplained == [], "\n".join(unexplained)


def test_error_pages_are_in_the_frame_and_accessible(live_server, browser):
    page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    errors = watch(page)
    response = page.goto(f"{live_server.url}/nexiste-pas/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page non trouvée"
    page.get_by_role("button", name="Menu").click()
    assert page.locator("#header-menu").get_by_role("link", name="Se connecter").is_visible()
    unexplained = [v for v in axe_violations(page) if v.split(" ", 1)[0] not in accepted_rules()]
    assert unexplained == []
    # The browser reports the page's own 404 status; nothing else fails.
    assert [e for e in errors if "404" not in e] == []
    # The check itself works: an image without text alternative is reported.
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/x.png\">')")
    assert any(v.startswith("image-alt ") for v in axe_violations(page))


def test_a_message_typed_when_the_session_expired_is_kept_through_the_sign_in(live_server, browser, walkers):
    """The session ends while the porteur types (its row deleted, as the idle timeout does): sending leads to the
    sign-in page, which leads back to the dossier's page (a GET, not a 405) where the text is put back."""
    from django.contrib.sessions.models import Session

    base = live_server.url
    page = browser.new_context(viewport={"width": 375, "height": 900}).new_page()
    problems = watch(page)
    sign_in(page, base, "porteur", phone=True)
    open_page(page, base + walkers["dossier"])
    text = "Voici le devis demandé, avec le calendrier de déploiement."
    page.locator("#message-form textarea").press_sequentially(text, delay=1)
    Session.objects.all().delete()
    page.locator("#message-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/connexion/?next=")
    page.fill("#id_username", "porteur")
    page.fill("#id_password", "x")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url == base + walkers["dossier"]
    assert page.locator("#message-form textarea").input_value() == text
    assert "Le texte que vous aviez saisi a été gardé" in page.locator("#message-form").inner_text()
    # Sent for good this time: the draft is dropped.
    page.locator("#message-form button[type=submit]").click()
    page.wait_for_load_state()
    assert text in page.inner_text("main")
    assert page.locator("#message-form textarea").input_value() == ""
    assert problems == [], "\n".join(problems)


def test_the_simulator_result_takes_the_focus_on_a_phone(live_server, browser):
    page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
    problems = watch(page)
    open_page(page, f"{live_server.url}/simulateur/")
    page.fill("input[name=filed_on]", "2024-03-10")
    page.fill("textarea[name=essms]", "350000022;PA;acquisition;35;12")
    page.get_by_role("button", name="Simuler").click()
    page.wait_for_load_state()
    assert page.url.endswith("/simulateur/#resultat")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'resultat'")
    top = page.evaluate("document.getElementById('resultat').getBoundingClientRect().top")
    assert -2 <= top < 800  # the result is on the screen, not 1 700 px below
    assert page.locator("#technical-detail").is_visible()
    assert not page.locator("#technical-detail table").is_visible()  # closed until asked
    page.get_by_text("Détail technique").click()
    assert page.locator("#technical-detail table").is_visible()
    assert problems == [], "\n".join(problems)


def test_the_page_warns_two_minutes_before_the_session_ends(live_server, browser, walkers, settings):
    settings.SESSION_COOKIE_AGE = 122  # the warning comes 2 seconds after the page
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server.url, "porteur", phone=False)
    page.wait_for_selector("#session-warning", timeout=10_000)
    assert "Votre session va expirer dans 2 minutes" in page.inner_text("#session-warning")
