"""Canned responses: placeholders filled for one ticket and agent (plain text substitution, no template
language, so a response's text can never run code or read other data)."""

from __future__ import annotations

import re

from crm.models import CannedResponse, Ticket

_PLACEHOLDER = re.compile(r"\{\{\s*(requester_name|ticket_number|agent_name|ticket_subject)\s*\}\}")


def canned_render(*, response: CannedResponse, ticket: Ticket, agent) -> str:
    requester = ticket.requester
    values = {
        "requester_name": (requester.first_name or requester.full_name or requester.email) if requester else "there",
        "ticket_number": f"#{ticket.number}",
        "ticket_subject": ticket.subject,
        "agent_name": agent.get_full_name() or agent.get_username(),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], response.body)
