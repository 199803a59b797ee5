"""What a person does in the browser tests: sign in, and take an action from its form."""

from __future__ import annotations


def logged_in(browser, live_server, username: str, password: str = "x"):
    """A page in a fresh browser context (its own cookies), signed in as `username`."""
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    return page


def act(page, transition: str, comment: str | None = None) -> None:
    """Submits the form of a workflow action (`form[data-transition=…]`), with its comment if any."""
    form = page.locator(f'form[data-transition="{transition}"]')
    if comment:
        form.locator("textarea").fill(comment)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
