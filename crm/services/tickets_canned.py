"""Canned responses: placeholders filled for one ticket and agent (plain text substitution, no template
language, so a response's text can never run code or read other data), and their management by agents and leads
(the rules are :func:`crm.selectors.tickets.canned_can_edit` and its neighbours; pages and the API use them)."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from crm.models import CannedResponse, Team, Ticket
from crm.selectors.tickets import canned_can_edit, canned_may_manage_shared, canned_team_ids_writable_by

PLACEHOLDERS = {
    "requester_name": "the requester's first name",
    "ticket_number": "the ticket number, as #1234",
    "agent_name": "your name",
    "ticket_subject": "the ticket's subject",
}
_PLACEHOLDER = re.compile(r"\{\{\s*(requester_name|ticket_number|agent_name|ticket_subject)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def canned_render(*, response: CannedResponse, ticket: Ticket, agent) -> str:
    requester = ticket.requester
    values = {
        "requester_name": (requester.first_name or requester.full_name or requester.email) if requester else "there",
        "ticket_number": f"#{ticket.number}",
        "ticket_subject": ticket.subject,
        "agent_name": agent.get_full_name() or agent.get_username(),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], response.body)


def canned_body_errors(body: str) -> list[str]:
    """Messages for placeholders the renderer would leave as they are (a typo would reach the customer)."""
    unknown = sorted({name for name in _ANY_PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})
    if not unknown:
        return []
    allowed = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
    return [f"Unknown placeholder {', '.join(f'{{{{ {name} }}}}' for name in unknown)}. Use {allowed}."]


def _check_scope(actor: AbstractBaseUser, team: Team | None) -> None:
    if team is None:
        if not canned_may_manage_shared(actor):
            raise PermissionDenied("Only admins and team leads manage shared canned responses.")
        return
    writable = canned_team_ids_writable_by(actor)
    if writable is not None and team.pk not in writable:
        raise PermissionDenied("You may only write canned responses for your own teams.")


def _clean(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = ["Give the response a title."]
    if not body:
        errors["body"] = ["Write the response's text."]
    elif messages := canned_body_errors(body):
        errors["body"] = messages
    if errors:
        raise ValidationError(errors)
    return title[:150], body


@transaction.atomic
def canned_response_create(*, actor: AbstractBaseUser, title: str, body: str, team: Team | None) -> CannedResponse:
    """A new response for ``team`` (None: shared). PermissionDenied outside the actor's scope; ValidationError for
    an empty title or body or an unknown placeholder."""
    _check_scope(actor, team)
    title, body = _clean(title, body)
    return CannedResponse.objects.create(title=title, body=body, team=team, created_by=actor)


@transaction.atomic
def canned_response_update(*, actor: AbstractBaseUser, response: CannedResponse, title: str, body: str,
                           team: Team | None) -> CannedResponse:
    """Change a response the actor may edit; moving it to another team (or to shared) needs the right to write
    there too."""
    response = CannedResponse.objects.select_for_update().get(pk=response.pk)
    if not canned_can_edit(actor, response):
        raise PermissionDenied("You may not change this canned response.")
    if (team.pk if team else None) != response.team_id:
        _check_scope(actor, team)
    response.title, response.body = _clean(title, body)
    response.team = team
    response.save(update_fields=["title", "body", "team"])
    return response


@transaction.atomic
def canned_response_delete(*, actor: AbstractBaseUser, response: CannedResponse) -> None:
    if not canned_can_edit(actor, response):
        raise PermissionDenied("You may not delete this canned response.")
    CannedResponse.objects.filter(pk=response.pk).delete()
