"""An agent's ticket in real Chromium: unassigned queue → take → reply with a canned response → solve; the customer
rates it through the CSAT link."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from crm.models import Ticket
from crm.services.tickets import ticket_create
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import CannedResponseFactory, QueueFactory, SlaPolicyFactory, agent
from tests.e2e.conftest import axe_violations, login, screenshot
from tests.factories import TeamFactory

pytestmark = pytest.mark.browser


def test_agent_takes_replies_with_canned_response_and_solves_then_customer_rates(browser_page, live_server):
    team = TeamFactory(name="Support EU")
    queue = QueueFactory(team=team, name="General")
    SlaPolicyFactory(priority="normal")
    alice = agent(team, username="alice", first_name="Alice", last_name="Agent")
    carol = ContactFactory(first_name="Carol", last_name="Customer", email="carol@customer.example")
    ticket = ticket_create(subject="Printer on fire", description="It smokes.", requester=carol, queue=queue)
    CannedResponseFactory(title="Solved",
                          body="Hi {{ requester_name }}, {{ ticket_number }} is solved. {{ agent_name }}")
    page = browser_page
    login(page, live_server, alice)

    page.goto(f"{live_server.url}/support/queues/unassigned/")
    assert page.locator("[data-testid=count-unassigned]").inner_text() == "1"
    row = page.locator("[data-testid=ticket-row]")
    assert "Printer on fire" in row.inner_text() and "Unassigned" in row.inner_text()
    assert axe_violations(page) == []
    row.get_by_role("link", name="Printer on fire").click()
    page.wait_for_selector("[data-testid=ticket-subject]")
    assert "It smokes." in page.locator("[data-testid=entry]").first.inner_text()

    page.click("[data-testid=take-ticket]")
    page.wait_for_function("document.querySelector('[data-testid=ticket-assignee]').innerText.includes('Alice')")
    page.select_option("[data-testid=canned-select]", label="Solved")
    assert page.input_value("#id_body") == f"Hi Carol, #{ticket.number} is solved. Alice Agent"
    page.select_option("#id_status", "solved")
    assert axe_violations(page) == []
    page.click("[data-testid=send-reply]")
    page.wait_for_function("document.querySelector('[data-testid=ticket-status]').innerText.includes('Solved')")
    screenshot(page, "support-ticket-solved")
    ticket.refresh_from_db()
    assert ticket.status == "solved" and ticket.assignee == alice and ticket.first_response_at

    csat = next(m for m in mail.outbox if m.subject.startswith("How did we do?"))
    link = re.search(r"https?://\S+/help/rate/\S+/", csat.body).group(0)
    path = link.split("/help/", 1)[1]
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/help/{path}")
    page.check("input[name=rating][value='4']")
    page.fill("textarea[name=comment]", "Fast fix")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Send rating").click()
    page.wait_for_selector("[data-testid=csat-thanks]")
    ticket.refresh_from_db()
    assert (ticket.csat_rating, ticket.csat_comment) == (4, "Fast fix")
    assert Ticket.objects.get(pk=ticket.pk).csat_at is not None
