"""Support desk factories: queues, calendars, SLA policies, tickets, canned responses."""

from __future__ import annotations

import factory

from crm.models import BusinessCalendar, CannedResponse, SlaPolicy, Ticket, TicketQueue
from tests.factories import TeamFactory, UserFactory

WEEKDAYS_9_TO_5 = {str(day): [["09:00", "17:00"]] for day in range(1, 6)}


def agent(team, **kwargs):
    """A Support user who is a member of ``team``."""
    user = UserFactory(role="Support", **kwargs)
    team.members.add(user)
    return user


class CalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "Europe/Berlin"
    hours = factory.LazyFunction(lambda: dict(WEEKDAYS_9_TO_5))


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketQueue

    name = factory.Sequence(lambda n: f"Queue {n}")
    team = factory.SubFactory(TeamFactory)
    inbound_token = factory.Sequence(lambda n: f"token{n:08d}")
    email_address = factory.Sequence(lambda n: f"help{n}@support.example")


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlaPolicy

    name = factory.LazyAttribute(lambda o: f"{o.priority} policy")
    priority = Ticket.Priority.NORMAL
    first_response_minutes = 60
    resolution_minutes = 8 * 60


class CannedResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedResponse

    title = factory.Sequence(lambda n: f"Canned {n}")
    body = "Hello {{ requester_name }}, about ticket {{ ticket_number }}: fixed. — {{ agent_name }}"
