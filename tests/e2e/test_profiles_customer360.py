"""A marketer finds a person by email and reads the Customer 360 page; the timeline filter works in place."""

from __future__ import annotations

import pytest

from tests.cdp.identity_support import ingest, msg, source
from tests.e2e.conftest import axe_violations, login, screenshot

pytestmark = pytest.mark.browser


def test_search_open_profile_and_filter_timeline(browser_page, live_server, marketing_user):
    src = source("website", "Shop", identity_keys=True)
    ingest(src, [msg("page", minute=0, anonymousId="e2e-phone", name="Pricing")])
    ingest(src, [msg("identify", minute=1, anonymousId="e2e-laptop", userId="zoe",
                     traits={"email": "zoe@e2e.io", "name": "Zoe Park"})])
    ingest(src, [msg("track", minute=2, anonymousId="e2e-phone", userId="zoe", event="Signed Up")])

    page = browser_page
    login(page, live_server, marketing_user)
    page.goto(live_server.url + "/cdp/profiles/")
    page.get_by_test_id("profile-search").fill("email:ZOE@e2e.io")
    page.get_by_role("button", name="Search").click()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Zoe Park").click()

    assert page.get_by_test_id("profile-name").inner_text() == "Zoe Park"
    identifiers = page.get_by_test_id("identifiers").inner_text()
    for value in ("zoe@e2e.io", "e2e-phone", "e2e-laptop"):
        assert value in identifiers
    assert "joined this one" in page.get_by_test_id("why").inner_text()
    timeline = page.get_by_test_id("profile-timeline")
    assert "Signed Up" in timeline.inner_text() and "Identified" in timeline.inner_text()

    page.get_by_label("Web").check()  # htmx swaps the timeline in place
    page.wait_for_function(
        "() => !document.querySelector('#profile-timeline').innerText.includes('Identified')")
    text = page.get_by_test_id("profile-timeline").inner_text()
    assert "Signed Up" in text and "Viewed Pricing" in text
    assert axe_violations(page) == []
    screenshot(page, "customer360")


def test_a_sales_rep_finds_only_the_profiles_of_contacts_they_may_see(browser_page, live_server, sales_user):
    from cdp.models import IngestBatch
    from cdp.services.crm_outbox import crm_outbox_drain
    from cdp.services.processing import batch_process
    from crm.services.contacts import contact_create
    from tests.factories import UserFactory

    other = UserFactory(username="olga", role="Sales")
    contact_create(actor=None, first_name="Mina", last_name="Kell", emails=["mina@kell.io"], owner=sales_user)
    contact_create(actor=None, first_name="Theo", last_name="Kell", emails=["theo@kell.io"], owner=other)
    crm_outbox_drain()
    for batch in IngestBatch.objects.filter(processed_at__isnull=True):
        batch_process(batch_id=batch.pk)
    shop = source("website", "Shop", identity_keys=True)
    ingest(shop, [msg("identify", minute=1, userId="vis", traits={"email": "vi@kell.io", "name": "Vi Kell"})])

    page = browser_page
    login(page, live_server, sales_user)
    page.goto(live_server.url + "/cdp/profiles/")
    page.get_by_test_id("profile-search").fill("Kell")
    page.get_by_role("button", name="Search").click()
    results = page.locator("main").inner_text()
    assert "Mina" in results and "Theo" not in results and "Vi Kell" not in results
    assert axe_violations(page) == []
    page.get_by_role("link", name="Mina Kell").click()
    assert page.get_by_test_id("profile-name").inner_text() == "Mina Kell"
    assert "Mina Kell" in page.get_by_test_id("crm").inner_text()
    assert axe_violations(page) == []
