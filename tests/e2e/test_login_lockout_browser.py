"""Login lockout as a person sees it (issue 12): after repeated wrong passwords the login page says why."""

from __future__ import annotations

from tests.e2e.conftest import axe_violations, screenshot


def test_lockout_message_on_the_login_page(browser_page, live_server, sales_user):
    page = browser_page
    for _ in range(5):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", sales_user.username)
        page.fill("#id_password", "not the password")
        page.click("button[type=submit]")
        page.wait_for_load_state()
    alert = page.locator("[data-testid=login-locked]")
    assert alert.is_visible()
    assert "Too many failed log-in attempts" in alert.inner_text() and "15 minutes" in alert.inner_text()
    assert page.locator("#id_username").input_value() == sales_user.username
    screenshot(page, "login-locked")
    assert axe_violations(page) == []

    # The right password does not get in while the lockout lasts.
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=login-locked]").is_visible()
    assert "/accounts/login/" in page.url
