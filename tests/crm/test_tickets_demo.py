"""The demo support desk: queues, agents, a few hundred tickets in every state, some breached, some rated."""

import pytest
from django.core import mail

from crm.demo import demo_seed
from crm.models import CannedResponse, SlaPolicy, Ticket, TicketQueue

pytestmark = pytest.mark.django_db


def test_demo_seed_creates_a_busy_support_desk_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo_seed()
    tickets = Ticket.objects.all()
    assert tickets.count() == 300
    assert set(tickets.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert tickets.filter(resolution_breached_at__isnull=False).exists()
    assert tickets.filter(first_response_breached_at__isnull=False).exists()
    assert 20 < tickets.filter(csat_rating__isnull=False).count() < 150
    assert tickets.filter(assignee__isnull=True, status="new").exists()
    assert sorted(TicketQueue.objects.values_list("name", flat=True)) == ["Billing", "General"]
    assert SlaPolicy.objects.count() == 4 and CannedResponse.objects.count() == 4
    assert mail.outbox == []  # demo data mails nobody
    demo_seed()
    assert Ticket.objects.count() == 300
