"""Reports in real Chromium: a sales manager filters the sales report by team and period and downloads the Excel
workbook; a marketer builds a 3-step funnel. Pages are checked with axe-core."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from tests.e2e.conftest import axe_violations, login, screenshot
from tests.factories import UserFactory
from tests.reports.events_data import add_events
from tests.reports.sales_data import build_sales_world

pytestmark = pytest.mark.browser


def test_sales_manager_filters_by_team_and_period_and_downloads_excel(browser_page, live_server, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    world = build_sales_world()
    world.sid.teams.clear()
    world.north.members.add(world.sid)  # Mia now manages Sid too; the team filter narrows to North's own deals
    page = browser_page
    login(page, live_server, world.mia)
    page.goto(f"{live_server.url}/reports/")
    page.click("[data-testid=report-list] >> text=Sales")
    page.wait_for_selector("[data-testid=report-filters]")
    page.select_option("#id_team", label="North")
    page.fill("#id_start", "2026-02-01")
    page.fill("#id_end", "2026-03-31")
    page.click("[data-testid=report-filters] button[type=submit]")
    page.wait_for_url("**team=*")
    assert "1 Feb 2026 – 31 Mar 2026" in page.locator("[data-testid=report-period]").inner_text()
    won = page.locator("[data-testid=table-won_lost] tbody tr")
    assert won.count() == 2
    assert won.nth(0).locator("td").nth(1).inner_text() == "1"  # D2, closed 31 Jan 23:30 UTC = 1 Feb in Berlin
    board = page.locator("[data-testid=table-leaderboard]").inner_text()
    assert "Sam Seller" in board and "Bob Builder" in board and "Sid South" in board
    page.wait_for_selector("[data-testid=section-won_lost] .chart-plot[data-drawn]")  # plotly drew the chart
    assert axe_violations(page) == []
    screenshot(page, "reports-sales-manager")

    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    path = info.value.path()
    sheets = pd.read_excel(path, sheet_name=None)
    assert sheets["Won and lost per month"]["Won"].tolist() == [1, 1]  # Feb: D2; Mar: D4 (Sid, now in North)
    assert sheets["Won and lost per month"]["Lost"].tolist() == [1, 0]
    assert sheets["Leaderboard"]["Rep"].tolist()[0] == "Sam Seller"


def test_marketer_builds_a_three_step_funnel(browser_page, live_server):
    marketer = UserFactory(username="max", first_name="Max", last_name="Marketer", role="Marketing")
    now = timezone.now()
    rows = []
    for person, steps in (("p1", 3), ("p2", 2), ("p3", 1), ("p4", 3)):
        for k, name in enumerate(("Viewed Pricing", "Started Trial", "Subscribed")[:steps]):
            rows.append({"ts": now - timedelta(hours=2) + timedelta(minutes=10 * k), "event": name,
                         "anonymous_id": person, "properties": {"plan": "pro" if person in ("p1", "p2") else "team"}})
    add_events(rows)
    page = browser_page
    login(page, live_server, marketer)
    page.goto(f"{live_server.url}/reports/")
    page.click("[data-testid=report-list] >> text=Funnel")
    page.fill("#id_step_1", "Viewed Pricing")
    page.fill("#id_step_2", "Started Trial")
    page.fill("#id_step_3", "Subscribed")
    page.fill("#id_window", "1")
    page.select_option("#id_window_unit", "hours")
    page.click("[data-testid=report-filters] button[type=submit]")
    table = page.locator("[data-testid=table-funnel] tbody tr")
    table.first.wait_for()
    cells = [[c.inner_text() for c in table.nth(i).locator("td").all()] for i in range(table.count())]
    assert [c[3] for c in cells] == ["4", "3", "2"]  # persons per step
    assert [c[5] for c in cells] == ["–", "75.0%", "66.7%"]  # from the previous step
    assert cells[1][6] == "600.0"  # median seconds between steps
    assert axe_violations(page) == []

    page.fill("#id_breakdown", "plan")
    page.click("[data-testid=report-filters] button[type=submit]")
    page.wait_for_url("**breakdown=plan*")
    text = page.locator("[data-testid=table-funnel]").inner_text()
    assert "pro" in text and "team" in text
    screenshot(page, "reports-funnel")
