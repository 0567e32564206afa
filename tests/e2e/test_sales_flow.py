"""A sales rep's day in real Chromium: contact → call → deal → drag on the board → forecast."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from crm.models import Activity, Contact, Deal, DealStageChange
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_rep_creates_contact_logs_call_creates_deal_drags_it_and_sees_forecast(browser_page, live_server,
                                                                               sales_user):
    make_pipeline()
    page = browser_page
    login(page, live_server, sales_user)

    # A new contact through the contacts form.
    page.goto(f"{live_server.url}/crm/contacts/new/")
    page.fill("#id_first_name", "Lena")
    page.fill("#id_last_name", "Lund")
    page.fill("#id_emails", "lena@lund.example")
    page.click("[data-testid=save-contact]")
    page.wait_for_selector("[data-testid=contact-name]")
    assert page.locator("[data-testid=contact-name]").inner_text() == "Lena Lund"
    contact = Contact.objects.get(email="lena@lund.example")

    # A call logged from the contact page; the timeline refreshes by itself.
    log = page.locator("[data-testid=activity-log]")
    log.locator("select[name=kind]").select_option("call")
    log.locator("input[name=subject]").fill("Intro call")
    log.locator("select[name=call_outcome]").select_option("connected")
    log.locator("input[name=call_duration_minutes]").fill("15")
    log.locator("[data-testid=activity-submit]").click()
    page.wait_for_selector("[data-testid=activity-logged]")
    page.wait_for_function("document.querySelector('[data-testid=timeline]').innerText.includes('Intro call')")
    call = Activity.objects.get(subject="Intro call")
    assert (call.kind, call.call_outcome, call.call_duration_minutes, call.contact_id) == (
        "call", "connected", 15, contact.pk)

    # A deal for that contact, closing this month.
    page.goto(f"{live_server.url}/crm/deals/new/?contact={contact.pk}")
    page.fill("#id_name", "Lund expansion")
    page.fill("#id_amount", "5000")
    page.fill("#id_expected_close_date", timezone.localdate().isoformat())
    page.click("[data-testid=deal-form] button[type=submit]")
    page.wait_for_selector("[data-testid=deal-name]")
    deal = Deal.objects.get(name="Lund expansion")
    assert list(deal.contacts.all()) == [contact] and deal.stage.name == "Lead"
    assert "Intro call" not in page.locator("[data-testid=timeline]").inner_text()  # the call was on the contact

    # Drag the card from Lead to Proposal on the board.
    page.goto(f"{live_server.url}/crm/board/")
    card = page.locator(f"[data-deal-id='{deal.pk}']")
    proposal = page.locator("[data-testid=board-column][aria-label=Proposal]")
    assert "0 deals" in proposal.locator(".col-totals").inner_text()
    card.drag_to(proposal.locator("[data-dropzone]"))
    page.wait_for_selector("[data-testid=board-message]")
    assert page.locator("[data-testid=board-message]").inner_text() == "Deal moved."
    assert re.search(r"1 deal\b", proposal.locator(".col-totals").inner_text())
    assert "3,000 weighted" in proposal.locator(".col-totals").inner_text()
    assert proposal.locator(f"[data-deal-id='{deal.pk}']").count() == 1
    screenshot(page, "sales-board-after-drag")
    page.reload()
    assert page.locator("[data-testid=board-column][aria-label=Proposal]").locator(
        f"[data-deal-id='{deal.pk}']").count() == 1
    change = DealStageChange.objects.filter(deal=deal).latest("id")
    assert (change.from_stage.name, change.to_stage.name, change.changed_by_id) == ("Lead", "Proposal", sales_user.pk)

    # The forecast counts it: 5,000 × 60% in this month, under Sam.
    page.goto(f"{live_server.url}/crm/forecast/")
    first_month = page.locator("[data-testid=forecast-weighted]").first.inner_text()
    assert first_month == "3,000"
    assert "Sam Seller" in page.locator("[data-testid=forecast-owners]").inner_text()
    assert page.locator("[data-testid=forecast-chart] .chart-numbers tbody tr").count() == 6
    page.wait_for_selector("[data-testid=forecast-chart] .chart-plot[data-drawn]")  # plotly drew it
    screenshot(page, "sales-forecast")


def test_read_only_user_drag_is_refused_and_the_card_snaps_back(browser_page, live_server, sales_user,
                                                                marketing_user):
    pipeline = make_pipeline()
    deal = DealFactory(owner=sales_user, pipeline=pipeline, name="Not yours to move")
    page = browser_page
    login(page, live_server, marketing_user)
    page.goto(f"{live_server.url}/crm/board/")
    assert page.locator("[data-testid=board-readonly]").is_visible()
    lead = page.locator("[data-testid=board-column][aria-label=Lead]")
    won = page.locator("[data-testid=board-column][aria-label=Won]")
    page.locator(f"[data-deal-id='{deal.pk}']").drag_to(won.locator("[data-dropzone]"))
    page.wait_for_selector("[data-testid=board-message][role=alert]")
    assert "may not" in page.locator("[data-testid=board-message]").inner_text()
    assert lead.locator(f"[data-deal-id='{deal.pk}']").count() == 1
    assert won.locator(f"[data-deal-id='{deal.pk}']").count() == 0
    deal.refresh_from_db()
    assert deal.stage.name == "Lead" and not DealStageChange.objects.filter(deal=deal).exists()
