"""The live debugger in real Chromium: messages appear while the page is open (htmx polling)."""

from __future__ import annotations

import pytest

from cdp.models import Source
from cdp.services.ingest import events_ingest
from cdp.services.sources import source_create, source_for_write_key
from tests.e2e.conftest import axe_violations, login, screenshot

pytestmark = pytest.mark.browser


def test_debugger_shows_new_messages_as_they_arrive(browser_page, live_server, marketing_user):
    page = browser_page
    source = source_create(name="Live site", kind=Source.Kind.WEBSITE)
    login(page, live_server, marketing_user)
    page.goto(f"{live_server.url}/cdp/sources/{source.pk}/debugger/")
    page.wait_for_selector("[data-testid=debug-empty]")

    events_ingest(source=source, messages=[
        {"type": "track", "event": "Signed Up", "userId": "u-1", "messageId": "live-1",
         "properties": {"plan": "pro"}},
        {"type": "track", "userId": "u-2", "messageId": "live-bad"},  # no event name: rejected
    ])
    accepted = page.wait_for_selector('[data-testid=debug-entry][data-message-id="live-1"]', timeout=10_000)
    assert "Signed Up" in accepted.inner_text() and '"plan": "pro"' in accepted.inner_text()
    rejected = page.wait_for_selector('[data-testid=debug-entry][data-message-id="live-bad"]')
    assert rejected.get_attribute("data-status") == "rejected"
    assert rejected.query_selector("[data-testid=reason]").inner_text().strip() != ""
    screenshot(page, "cdp-debugger")


def test_sources_page_shows_chart_and_only_the_key_prefix(browser_page, live_server, marketing_user):
    page = browser_page
    source = source_create(name="Chart site", kind=Source.Kind.WEBSITE)
    events_ingest(source=source, messages=[{"type": "track", "event": "E", "userId": "u", "messageId": f"c{n}"}
                                           for n in range(4)])
    login(page, live_server, marketing_user)
    page.goto(f"{live_server.url}/cdp/")
    row = page.locator('[data-testid=source-row][data-source="Chart site"]')
    assert "4 accepted" in row.inner_text()
    assert source.write_key not in page.content()
    assert row.locator("[data-testid=key-hint]").inner_text() == source.key_hint
    screenshot(page, "cdp-sources")
    # The source's volume chart has labelled axes (drawn by plotly) and its numbers in a table.
    page.goto(f"{live_server.url}/cdp/sources/{source.pk}/")
    page.wait_for_selector("#volume .chart-plot[data-drawn] .main-svg")
    axes = page.locator("#volume .chart-plot").inner_text() + " ".join(
        page.locator("#volume .chart-plot text").all_text_contents())
    assert "Hour (UTC)" in axes and "Events" in axes
    assert page.locator("#volume .xtick").count() > 1 and page.locator("#volume .ytick").count() > 1
    page.locator("#volume summary").click()
    table = page.locator("#volume table")
    assert table.locator("tbody tr").count() == 24
    assert table.locator("thead").inner_text().split() == ["Hour", "(UTC)", "Accepted", "Rejected"]
    assert "4" in table.locator("tbody tr").last.inner_text()
    screenshot(page, "cdp-source-volume")


def test_rotate_key_on_the_source_page(browser_page, live_server, marketing_user):
    page = browser_page
    source = source_create(name="Rotating site", kind=Source.Kind.WEBSITE)
    old_key = source.write_key
    login(page, live_server, marketing_user)
    page.goto(f"{live_server.url}/cdp/sources/{source.pk}/")
    assert old_key not in page.content() and "YOUR_WRITE_KEY" in page.inner_text("[data-testid=snippet]")
    page.click("[data-testid=rotate-key]")
    page.wait_for_selector("[data-testid=grace]")
    new_key = page.inner_text("[data-testid=write-key]")
    assert new_key != old_key and source_for_write_key(new_key) == source
    assert new_key in page.inner_text("[data-testid=snippet]")
    assert "New write key issued" in page.inner_text("main")
    assert axe_violations(page) == []
    screenshot(page, "cdp-source-detail")
    # Ending the grace period asks first, then the old key stops working.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=end-grace]")
    page.wait_for_selector("[data-testid=grace]", state="detached")
    assert source_for_write_key(old_key) is None and source_for_write_key(new_key) == source
    assert new_key not in page.content()
