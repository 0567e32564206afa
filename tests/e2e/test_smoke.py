import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_sales_user_logs_in_through_the_form_and_sees_their_name(browser_page, live_server, sales_user):
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert page.locator("h1").inner_text() == "Log in"
    login(page, live_server, sales_user)
    assert page.locator("[data-testid=dashboard-name]").inner_text() == "Sam Seller"
    assert page.locator("[data-testid=user-name]").inner_text() == "Sam Seller"
    nav = page.locator("nav.mainnav").inner_text()
    for section in ("CRM", "Support", "CDP"):
        assert section in nav
    assert "Segments" not in nav  # built by Marketing and admins; a rep is not offered a page that answers 403
    shot = screenshot(page, "smoke-dashboard")
    assert shot.stat().st_size > 10_000


def test_wrong_password_shows_an_error_in_the_browser(browser_page, live_server, sales_user):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", sales_user.username)
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "correct username and password" in page.locator("[role=alert]").inner_text()
