"""A team lead manages canned responses in real Chromium (form errors, create, edit, delete after confirming), then
an agent inserts the new one from the reply editor; axe checks each page."""

from __future__ import annotations

import pytest

from crm.models import CannedResponse
from crm.services.tickets import ticket_create
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import QueueFactory, SlaPolicyFactory, agent
from tests.e2e.conftest import axe_violations, login
from tests.factories import TeamFactory

pytestmark = pytest.mark.browser


def test_lead_manages_canned_responses_and_agent_uses_one(browser_page, live_server):
    team = TeamFactory(name="Support EU")
    queue = QueueFactory(team=team, name="General")
    SlaPolicyFactory(priority="normal")
    lena = agent(team, username="lena", first_name="Lena", last_name="Lead")
    team.manager = lena
    team.save()
    ticket = ticket_create(subject="Login fails", requester=ContactFactory(first_name="Carol"), queue=queue)
    page = browser_page
    login(page, live_server, lena)

    page.goto(f"{live_server.url}/support/canned/")
    assert "No canned responses yet." in page.inner_text("main")
    assert axe_violations(page) == []
    page.click("[data-testid=canned-new]")
    page.fill("#id_title", "Reset link")
    page.fill("#id_body", "Hi {{ requester_nam }}")
    page.select_option("#id_team", label="Shared with every team")
    page.click("[data-testid=canned-form] button[type=submit]")
    page.wait_for_selector(".errorlist")
    assert "Unknown placeholder {{ requester_nam }}" in page.inner_text("[data-testid=canned-form]")
    assert axe_violations(page) == []
    page.fill("#id_body", "Hi {{ requester_name }}, here is your reset link for {{ ticket_number }}. {{ agent_name }}")
    page.click("[data-testid=canned-form] button[type=submit]")
    page.wait_for_selector("[data-testid=canned-row]")
    assert "Shared" in page.inner_text("[data-testid=canned-row]")
    response = CannedResponse.objects.get(title="Reset link")
    assert response.team is None and response.created_by == lena

    page.get_by_role("link", name="Edit Reset link").click()
    page.fill("#id_title", "Password reset")
    page.click("[data-testid=canned-form] button[type=submit]")
    page.wait_for_selector("text=Password reset")

    page.goto(f"{live_server.url}/support/tickets/{ticket.pk}/")
    page.select_option("[data-testid=canned-select]", label="Password reset")
    assert page.input_value("#id_body") == (
        f"Hi Carol, here is your reset link for #{ticket.number}. Lena Lead")

    page.goto(f"{live_server.url}/support/canned/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Password reset").click()
    page.wait_for_selector("text=No canned responses yet.")
    assert not CannedResponse.objects.exists()
