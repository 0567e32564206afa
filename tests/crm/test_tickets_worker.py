"""The support desk's tasks on a real Celery worker process against real Redis and the test database.

Mail posted to the inbound endpoint opens a ticket; the agent's reply and the CSAT request that follow leave
through the worker (serialised task arguments, a separate process with its own connections) as real messages
written by Django's file mail backend, threaded so that the customer's answer comes back to the same ticket. The
SLA sweep task, sent by name as beat sends it, marks a breaching ticket and notifies its assignee."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from config.queueing import task_by_name
from crm.models import SupportNotification, Ticket, TicketEntry, TicketHistory
from tests.crm.ticket_factories import QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory
from tests.workers import WorkerProcess, wait_until

pytestmark = [pytest.mark.worker]


@pytest.fixture
def mail_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-mail")


@pytest.fixture
def worker(transactional_db, mail_dir, monkeypatch):
    """A real worker whose mail goes to files in ``mail_dir`` (the child inherits EMAIL_URL)."""
    from config.celery import app

    monkeypatch.setenv("EMAIL_URL", f"filemail:///{mail_dir}")  # django-environ drops one leading slash
    process = WorkerProcess(name="support").start()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield process
    finally:
        app.conf.task_always_eager = eager
        process.stop()


def _mails(mail_dir: Path) -> list[email.message.EmailMessage]:
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        # The file backend writes every message of a connection to one file, separated by a line of dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.strip() + b"\n", policy=policy.default))
    return messages


def _desk():
    team = TeamFactory(name="Level 1")
    queue = QueueFactory(team=team, inbound_token="inbound-secret-1", email_address="help@support.example")
    SlaPolicyFactory(priority="normal", first_response_minutes=60, resolution_minutes=480)
    return team, queue, agent(team, username="alice", first_name="Alice")


RAW = b"""From: Carol Customer <carol@customer.example>
To: help@support.example
Subject: The printer is on fire
Message-ID: <first-mail@customer.example>
Date: Sat, 05 Dec 2026 10:00:00 +0000
Content-Type: text/plain; charset=utf-8

Please help, it is still burning.
"""


def test_inbound_mail_becomes_a_ticket_and_the_replies_leave_through_the_worker(worker, mail_dir):
    _team, _queue, alice = _desk()
    client = Client()
    response = client.post("/support/inbound/inbound-secret-1/raw/", data=RAW, content_type="message/rfc822")
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(message_id="<first-mail@customer.example>")
    assert response.json() == {"status": "ticket", "ticket": ticket.number}
    assert ticket.requester.email == "carol@customer.example" and ticket.channel == "email"

    # The agent answers on the ticket page: the reply is committed, the worker mails it.
    client.force_login(alice)
    client.post(f"/support/tickets/{ticket.pk}/entries/", {"kind": "public", "body": "We are on our way."})
    reply = TicketEntry.objects.get(ticket=ticket, kind="public", incoming=False, author=alice)
    assert wait_until(lambda: TicketEntry.objects.filter(pk=reply.pk).exclude(message_id="").exists(), timeout=60), \
        worker.log_path.read_text()[-3000:]
    reply.refresh_from_db()
    sent = [m for m in _mails(mail_dir) if m["Message-ID"] == reply.message_id]
    assert len(sent) == 1
    assert sent[0]["To"] == "carol@customer.example" and sent[0]["From"] == "help@support.example"
    assert sent[0]["In-Reply-To"] == "<first-mail@customer.example>"
    assert f"[#{ticket.number}]" in sent[0]["Subject"]
    assert "We are on our way." in sent[0].get_content()

    # The customer answers that mail (threaded by In-Reply-To alone, no reference in the subject).
    answer = (b"From: carol@customer.example\nTo: help@support.example\nSubject: Re: fire\n"
              b"Message-ID: <second-mail@customer.example>\nIn-Reply-To: " + reply.message_id.encode() +
              b"\nContent-Type: text/plain\n\nThanks, it is out now.\n")
    response = client.post("/support/inbound/inbound-secret-1/raw/", data=answer, content_type="message/rfc822")
    assert response.json() == {"status": "reply", "ticket": ticket.number}
    assert TicketEntry.objects.filter(ticket=ticket, incoming=True, body__contains="it is out now").exists()

    # Solving sends the CSAT request from the worker, once.
    client.post(f"/support/tickets/{ticket.pk}/update/", {
        "status": "solved", "priority": ticket.priority, "assignee": alice.pk, "queue": ticket.queue_id})
    assert wait_until(lambda: Ticket.objects.filter(pk=ticket.pk, csat_requested_for__isnull=False).exists(),
                      timeout=60), worker.log_path.read_text()[-3000:]
    csat = [m for m in _mails(mail_dir) if m["Subject"].startswith("How did we do?")]
    assert len(csat) == 1 and csat[0]["To"] == "carol@customer.example"
    assert "/help/rate/" in csat[0].get_content()
    # The same task delivered again (a broker redelivery) sends nothing more.
    result = task_by_name("crm.ticket_csat_request_send").apply_async(args=[ticket.pk])
    assert result.id
    marker = Ticket.objects.get(pk=ticket.pk).csat_requested_for
    assert wait_until(lambda: worker.log_path.read_text().count("crm.ticket_csat_request_send") >= 4, timeout=60)
    assert len([m for m in _mails(mail_dir) if m["Subject"].startswith("How did we do?")]) == 1
    assert Ticket.objects.get(pk=ticket.pk).csat_requested_for == marker


def test_the_sweep_task_marks_a_breach_and_notifies_on_the_worker(worker):
    from crm.services.tickets import ticket_assign, ticket_create

    _team, queue, alice = _desk()
    ticket = ticket_create(subject="Slow one", queue=queue)
    ticket_assign(ticket=ticket, assignee=alice, actor=alice)
    past = timezone.now() - timedelta(minutes=5)
    Ticket.objects.filter(pk=ticket.pk).update(resolution_due_at=past, first_response_due_at=past)
    calm = ticket_create(subject="Not due", queue=queue)

    task_by_name("crm.tickets_sla_sweep").apply_async()
    assert wait_until(lambda: SupportNotification.objects.filter(ticket=ticket, user=alice).count() == 2,
                      timeout=60), worker.log_path.read_text()[-3000:]
    ticket.refresh_from_db()
    assert ticket.resolution_breached_at is not None and ticket.first_response_breached_at is not None
    assert TicketHistory.objects.filter(ticket=ticket, kind="sla_breach").count() == 2
    texts = set(SupportNotification.objects.filter(ticket=ticket, user=alice).values_list("text", flat=True))
    assert texts == {f"Ticket #{ticket.number} missed its resolution target.",
                     f"Ticket #{ticket.number} missed its first-response target."}
    calm.refresh_from_db()
    assert calm.resolution_breached_at is None
    assert not SupportNotification.objects.filter(ticket=calm).exists()

    # Beat sends the task again a minute later: nothing is marked or notified twice.
    task_by_name("crm.tickets_sla_sweep").apply_async()
    assert wait_until(lambda: worker.log_path.read_text().count("crm.tickets_sla_sweep") >= 4, timeout=60)
    assert SupportNotification.objects.filter(ticket=ticket).count() == 2
    assert TicketHistory.objects.filter(ticket=ticket, kind="sla_breach").count() == 2
