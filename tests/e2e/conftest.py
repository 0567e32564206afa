"""Browser fixtures: real Chromium (Debian's package) driven by Playwright against pytest-django's live_server.

Usage::

    def test_something(browser_page, live_server, sales_user):
        login(browser_page, live_server, sales_user)
        browser_page.goto(live_server.url + "/crm/")
        ...

Screenshots go to var/test-artifacts/ (kept as CI artifacts).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.factories import DEFAULT_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run where a loop
# is running unless told this is deliberate. The ORM calls here are plain synchronous test code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Browser tests need Debian's Chromium (`apt-get install chromium`; `make test` installs it).")
    return path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def browser_page(browser, transactional_db):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, live_server, user, password: str = DEFAULT_PASSWORD) -> None:
    """Log in through the real login form and wait for the dashboard."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=dashboard-name]")


WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[str]:
    """The serious and critical WCAG 2.1 AA violations axe-core (shipped by axe-playwright-python) finds on the
    page as it is now, one line each: rule id, impact, and the first offending elements."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA},
                                       "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
