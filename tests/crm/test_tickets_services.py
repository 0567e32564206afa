"""Ticket services: creation with SLA targets, transitions, pauses, replies, notes, assignment, history, outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from crm.models import OutboxEntry, Ticket, TicketEntry, TicketHistory
from crm.services.tickets import (
    ALLOWED_TRANSITIONS,
    ticket_assign,
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_note,
    ticket_reply,
    ticket_round_robin_assign,
)
from crm.services.tickets_sweep import tickets_sla_sweep
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import CalendarFactory, QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def desk(db):
    team = TeamFactory(name="Level 1")
    calendar = CalendarFactory()
    queue = QueueFactory(team=team, calendar=calendar)
    SlaPolicyFactory(priority="normal", first_response_minutes=60, resolution_minutes=8 * 60)
    SlaPolicyFactory(priority="urgent", first_response_minutes=15, resolution_minutes=2 * 60)
    return {"team": team, "queue": queue, "agent": agent(team, username="alice"),
            "contact": ContactFactory(email="carol@customer.example", first_name="Carol")}


def test_create_sets_number_sla_targets_history_and_outbox(desk):
    ticket = ticket_create(subject="Printer on fire", description="Help", requester=desk["contact"],
                           queue=desk["queue"], now=MONDAY_10)
    second = ticket_create(subject="Other", requester=desk["contact"], queue=desk["queue"], now=MONDAY_10)
    assert second.number == ticket.number + 1
    assert ticket.status == "new" and ticket.team_id == desk["team"].pk
    assert ticket.first_response_due_at == MONDAY_10 + timedelta(hours=1)
    # 8 business hours from Monday 10:00 in a 9-17 calendar: 7 on Monday, 1 on Tuesday → Tuesday 10:00.
    assert ticket.resolution_due_at == datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)
    assert ticket.entries.get().body == "Help"
    assert ticket.history.get().kind == TicketHistory.Kind.CREATED
    event = OutboxEntry.objects.get(object_type="ticket", object_id=ticket.pk)
    assert event.message["event"] == "Ticket Created"
    assert event.message["anonymousId"] == f"crm-contact-{desk['contact'].pk}"


def test_transitions_are_enforced(desk):
    ticket = ticket_create(subject="x", queue=desk["queue"], now=MONDAY_10)
    ticket_change_status(ticket=ticket, status="solved", actor=desk["agent"], now=MONDAY_10)
    ticket_change_status(ticket=ticket, status="closed", actor=desk["agent"], now=MONDAY_10)
    for status in Ticket.Status.values:
        if status != "closed":
            with pytest.raises(ValidationError):
                ticket_change_status(ticket=ticket, status=status, actor=desk["agent"])
    assert "closed" not in ALLOWED_TRANSITIONS["new"]
    fresh = ticket_create(subject="y", queue=desk["queue"])
    with pytest.raises(ValidationError, match="cannot go from New to Closed"):
        ticket_change_status(ticket=fresh, status="closed", actor=desk["agent"])


def test_pending_pauses_the_resolution_clock(desk):
    ticket = ticket_create(subject="x", queue=desk["queue"], now=MONDAY_10)
    # Two business hours later it goes pending, and stays pending over the night until Tuesday 15:00.
    ticket = ticket_change_status(ticket=ticket, status="pending", actor=desk["agent"],
                                  now=MONDAY_10 + timedelta(hours=2))
    assert ticket.resolution_due_at is None and ticket.resolution_remaining_seconds == 6 * 3600
    ticket = ticket_change_status(ticket=ticket, status="open", actor=desk["agent"],
                                  now=datetime(2026, 12, 8, 15, 0, tzinfo=BERLIN))
    # 6 business hours left from Tuesday 15:00: 2 on Tuesday, 4 on Wednesday → Wednesday 13:00.
    assert ticket.resolution_due_at == datetime(2026, 12, 9, 13, 0, tzinfo=BERLIN)
    assert ticket.sla_paused_at is None


def test_priority_change_moves_targets_keeping_elapsed_time(desk):
    ticket = ticket_create(subject="x", queue=desk["queue"], now=MONDAY_10)
    ticket = ticket_change_priority(ticket=ticket, priority="urgent", actor=desk["agent"],
                                    now=MONDAY_10 + timedelta(hours=1))
    assert ticket.resolution_due_at == MONDAY_10 + timedelta(hours=2)
    assert list(ticket.history.filter(kind="priority").values_list("old_value", "new_value")) == [
        ("Normal", "Urgent")]


def test_reply_sets_first_response_opens_and_mails_with_threading(desk, django_capture_on_commit_callbacks):
    ticket = ticket_create(subject="Login fails", requester=desk["contact"], queue=desk["queue"],
                           channel="email", message_id="<abc@customer.example>", now=MONDAY_10)
    with django_capture_on_commit_callbacks(execute=True):
        entry = ticket_reply(ticket=ticket, author=desk["agent"], body="Try again", now=MONDAY_10)
    ticket.refresh_from_db()
    assert ticket.first_response_at == MONDAY_10 and ticket.status == "open"
    sent = mail.outbox[-1]
    assert sent.to == ["carol@customer.example"]
    assert f"[#{ticket.number}]" in sent.subject
    assert sent.extra_headers["In-Reply-To"] == "<abc@customer.example>"
    entry.refresh_from_db()
    assert entry.message_id == sent.extra_headers["Message-ID"]


def test_notes_are_never_mailed(desk, django_capture_on_commit_callbacks):
    ticket = ticket_create(subject="x", requester=desk["contact"], queue=desk["queue"])
    with django_capture_on_commit_callbacks(execute=True):
        note = ticket_note(ticket=ticket, author=desk["agent"], body="internal")
    assert note.kind == TicketEntry.Kind.NOTE and mail.outbox == []


def test_assignment_requires_team_membership_and_records_history(desk):
    ticket = ticket_create(subject="x", queue=desk["queue"])
    outsider = agent(TeamFactory(), username="olga")
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=outsider, actor=desk["agent"])
    ticket_assign(ticket=ticket, assignee=desk["agent"], actor=desk["agent"])
    assert ticket.history.filter(kind="assignee").get().new_value == desk["agent"].get_full_name()


def test_round_robin_takes_turns(desk):
    queue = desk["queue"]
    queue.round_robin = True
    queue.save()
    bob = agent(desk["team"], username="bob")
    owners = [ticket_create(subject=f"t{i}", queue=queue).assignee_id for i in range(4)]
    first, second = sorted([desk["agent"].pk, bob.pk])
    assert owners == [first, second, first, second]
    ticket = Ticket.objects.create(subject="no queue")
    assert ticket_round_robin_assign(ticket=ticket).assignee_id is None


def test_sweep_marks_breaches_once_and_notifies(desk):
    ticket = ticket_create(subject="x", queue=desk["queue"], now=MONDAY_10, assignee=desk["agent"])
    warned = tickets_sla_sweep(now=datetime(2026, 12, 8, 9, 45, tzinfo=BERLIN))
    assert warned == {"first_response": 1, "resolution": 0, "warning": 1}
    counts = tickets_sla_sweep(now=datetime(2026, 12, 8, 10, 30, tzinfo=BERLIN))
    assert counts == {"first_response": 0, "resolution": 1, "warning": 0}
    assert tickets_sla_sweep(now=datetime(2026, 12, 8, 13, 0, tzinfo=BERLIN)) == {
        "first_response": 0, "resolution": 0, "warning": 0}
    ticket.refresh_from_db()
    assert ticket.resolution_breached_at and ticket.first_response_breached_at
    assert set(ticket.history.values_list("kind", flat=True)) >= {"sla_breach", "sla_warning"}
    # Each event is told once: the warning, the first-response breach, and the resolution breach after it.
    assert set(desk["agent"].support_notifications.filter(ticket=ticket).values_list("kind", flat=True)) == {
        "sla_warning", "sla_first_breach", "sla_breach"}
    assert desk["agent"].support_notifications.filter(ticket=ticket).count() == 3


def test_solve_sends_csat_link_and_rating_is_one_use(desk, django_capture_on_commit_callbacks):
    import re

    from crm.services.tickets_csat import csat_submit

    ticket = ticket_create(subject="x", requester=desk["contact"], queue=desk["queue"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_change_status(ticket=ticket, status="solved", actor=desk["agent"])
    assert mail.outbox[-1].to == ["carol@customer.example"]
    token = re.search(r"/help/rate/([^/\s]+)/", mail.outbox[-1].body).group(1)
    csat_submit(token=token, rating=4, comment="Quick")
    ticket.refresh_from_db()
    assert (ticket.csat_rating, ticket.csat_comment) == (4, "Quick")
    with pytest.raises(ValidationError):
        csat_submit(token=token, rating=5)
    with pytest.raises(ValidationError):
        csat_submit(token=token[:-2] + "xx", rating=5)
    events = list(OutboxEntry.objects.filter(object_id=ticket.pk, object_type="ticket")
                  .values_list("message__event", flat=True))
    assert events == ["Ticket Created", "Ticket Solved", "CSAT Submitted"]


def test_changes_and_breaches_appear_on_the_contact_timeline(desk):
    from crm.extensions import timeline_for

    ticket = ticket_create(subject="Timeline", requester=desk["contact"], queue=desk["queue"], now=MONDAY_10)
    ticket_assign(ticket=ticket, assignee=desk["agent"], actor=desk["agent"], now=MONDAY_10)
    ticket_change_priority(ticket=ticket, priority="urgent", actor=desk["agent"], now=MONDAY_10)
    ticket_change_status(ticket=ticket, status="pending", actor=desk["agent"], now=MONDAY_10)
    tickets_sla_sweep(now=datetime(2026, 12, 9, 12, 0, tzinfo=BERLIN))
    titles = [e.title for e in timeline_for(desk["contact"], user=desk["agent"], kinds={"ticket"})]
    n = ticket.number
    assert f"Ticket #{n} opened: Timeline" in titles
    assert f"Ticket #{n} priority Normal → Urgent" in titles
    assert f"Ticket #{n} status New → Pending" in titles
    assert any(t.startswith(f"Ticket #{n} assignee") for t in titles)
    assert f"Ticket #{n}: First response SLA breached" in titles
    outsider = agent(TeamFactory(), username="zed")
    assert timeline_for(desk["contact"], user=outsider, kinds={"ticket"}) == []
