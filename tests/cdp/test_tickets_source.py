"""Tickets are a CDP source: Ticket Created / Ticket Solved / CSAT Submitted reach the crm source's raw events
for the requester's contact through crm's outbox."""

from __future__ import annotations

import pytest

from cdp.models import RawEvent
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.sources import crm_source
from crm.services.contacts import contact_create
from crm.services.tickets import ticket_change_status, ticket_create
from crm.services.tickets_csat import csat_submit, csat_token


@pytest.mark.django_db
def test_ticket_lifecycle_events_reach_the_cdp():
    contact = contact_create(actor=None, first_name="Tia", emails=["tia@example.com"])
    ticket = ticket_create(subject="Help", requester=contact)
    ticket = ticket_change_status(ticket=ticket, status="solved", actor=None)
    csat_submit(token=csat_token(ticket), rating=5)
    crm_outbox_drain()
    events = RawEvent.objects.filter(source=crm_source(), type="track").order_by("id")
    assert [e.payload["event"] for e in events] == ["Ticket Created", "Ticket Solved", "CSAT Submitted"]
    assert {e.anonymous_id for e in events} == {f"crm-contact-{contact.pk}"}
    assert events[2].payload["properties"]["rating"] == 5
    assert events[0].payload["properties"]["number"] == ticket.number
