"""The score model editor in real Chromium: a marketer edits a model as rows of (label, points, condition) with the
segment rule builder, sees a mistake at its row, fixes it and saves; the page is checked with axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from segments.models import ScoreModel
from tests.e2e.conftest import axe_violations, login, screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_marketer_edits_a_score_model_row_by_row(browser_page, live_server):
    model = ScoreModel.objects.create(name="Fit", is_default=True, conditions=[
        {"label": "Pro plan", "points": 20, "condition": {"type": "trait", "key": "plan", "op": "equals",
                                                          "value": "pro"}}])
    marketer = UserFactory(username="mia", first_name="Mia", last_name="Marketer", role="Marketing")
    page = browser_page
    login(page, live_server, marketer)
    page.goto(f"{live_server.url}/segments/scoring/{model.pk}/")
    rows = page.locator("[data-testid=score-row]")
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("[data-testid=row-label]")).to_have_value("Pro plan")
    expect(rows.nth(0).locator("[data-rb=key]")).to_have_value("plan")  # the builder's trait condition
    rows.nth(0).locator("[data-testid=row-points]").fill("25")

    page.click("[data-testid=add-score-row]")  # a new row starts as "performed an event"
    expect(rows).to_have_count(2)
    rows.nth(1).locator("[data-testid=row-label]").fill("Viewed pricing twice")
    rows.nth(1).locator("[data-testid=row-points]").fill("15")
    rows.nth(1).locator("[data-rb=count]").fill("2")
    page.click("[data-testid=save-score-model]")  # the event name is missing

    expect(page.locator("[data-testid=score-errors]")).to_contain_text("Condition 2, event")
    rows = page.locator("[data-testid=score-row]")
    expect(rows).to_have_count(2)  # the rows come back as they were left
    expect(rows.nth(1).locator("[data-testid=node-error]")).to_be_visible()
    expect(rows.nth(0).locator("[data-testid=node-error]")).to_have_count(0)
    expect(rows.nth(0).locator("[data-testid=row-points]")).to_have_value("25")
    assert axe_violations(page) == []
    screenshot(page, "score-editor")
    rows.nth(1).locator("[data-rb=event]").fill("Pricing Viewed")
    page.click("[data-testid=save-score-model]")

    expect(page.locator("h1")).to_have_text("Lead scoring")
    model.refresh_from_db()
    assert model.conditions == [
        {"label": "Pro plan", "points": 25, "condition": {"type": "trait", "key": "plan", "op": "equals",
                                                          "value": "pro"}},
        {"label": "Viewed pricing twice", "points": 15, "condition": {
            "type": "event", "event": "Pricing Viewed", "count": {"op": "at_least", "value": 2},
            "window": {"kind": "last_days", "days": 30}, "where": []}}]
