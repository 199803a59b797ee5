import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard would refuse the
# live server's database access from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Debian's chromium, never a downloaded browser.
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _fresh_page_caches():
    """Each test starts with empty page caches: a test's database is rolled back, and on SQLite the ids of its rows
    (hence a stamp made of them) may come again in the next test with other content."""
    from django.core.cache import caches

    for name in ("pages", "dossier_pages"):
        caches[name].clear()
    yield
