"""CSAT requests: one per solve, whatever re-runs the task; a reopened ticket solved again asks anew."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from crm.models import Ticket
from crm.services.tickets import ticket_change_status, ticket_create
from crm.services.tickets_csat import csat_request_send, csat_submit, csat_ticket_for_token
from crm.tasks import ticket_csat_request_send
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory


@pytest.fixture
def solved(db, django_capture_on_commit_callbacks):
    team = TeamFactory(name="Level 1")
    queue = QueueFactory(team=team)
    SlaPolicyFactory(priority="normal", first_response_minutes=60, resolution_minutes=480)
    alice = agent(team, username="alice")
    ticket = ticket_create(subject="Broken", requester=ContactFactory(email="carol@customer.example"), queue=queue)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_change_status(ticket=ticket, status="solved", actor=alice)
    return {"ticket": ticket, "agent": alice}


def _csat_mails() -> list:
    return [m for m in mail.outbox if m.subject.startswith("How did we do?")]


def _token(message) -> str:
    return re.search(r"/help/rate/([^/\s]+)/", message.body).group(1)


def test_one_request_per_solve_whatever_replays_the_task(solved):
    ticket = solved["ticket"]
    assert len(_csat_mails()) == 1
    ticket.refresh_from_db()
    assert ticket.csat_requested_for == ticket.solved_at
    # A replayed message, a retry after the send, a second worker: nothing more goes out.
    assert csat_request_send(ticket_id=ticket.pk) is False
    ticket_csat_request_send.apply(args=[ticket.pk])
    ticket_csat_request_send.apply(args=[ticket.pk])
    assert len(_csat_mails()) == 1


def test_a_failed_send_is_not_marked_so_the_retry_sends(db, solved, monkeypatch):
    ticket = solved["ticket"]
    Ticket.objects.filter(pk=ticket.pk).update(csat_requested_for=None)  # as if the first send had not happened
    mail.outbox.clear()

    def refuse(self, fail_silently=False):
        raise OSError("SMTP server unreachable")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.EmailMessage.send", refuse)
        with pytest.raises(OSError):
            csat_request_send(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.csat_requested_for is None
    assert csat_request_send(ticket_id=ticket.pk) is True
    assert csat_request_send(ticket_id=ticket.pk) is False
    assert len(_csat_mails()) == 1


def test_reopened_ticket_is_not_asked_until_solved_again(solved, django_capture_on_commit_callbacks):
    ticket, alice = solved["ticket"], solved["agent"]
    first_token = _token(_csat_mails()[0])
    csat_submit(token=first_token, rating=2, comment="Slow")
    ticket = ticket_change_status(ticket=ticket, status="open", actor=alice)
    # The task of the first solve, replayed while the ticket is open again: no request.
    assert csat_request_send(ticket_id=ticket.pk) is False
    with pytest.raises(ValidationError):
        csat_ticket_for_token(first_token)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_change_status(ticket=ticket, status="solved", actor=alice)
    mails = _csat_mails()
    assert len(mails) == 2
    second_token = _token(mails[1])
    assert second_token != first_token
    with pytest.raises(ValidationError):  # the first solve's link stays dead
        csat_submit(token=first_token, rating=5)
    # The new solve may be rated although the earlier one was.
    csat_submit(token=second_token, rating=5, comment="Fixed now")
    ticket.refresh_from_db()
    assert (ticket.csat_rating, ticket.csat_comment) == (5, "Fixed now")
    with pytest.raises(ValidationError):
        csat_submit(token=second_token, rating=1)
    assert csat_request_send(ticket_id=ticket.pk) is False
    assert len(_csat_mails()) == 2


def test_closing_a_solved_ticket_before_the_task_runs_still_asks_once(db, django_capture_on_commit_callbacks):
    team = TeamFactory(name="Level 2")
    queue = QueueFactory(team=team)
    SlaPolicyFactory(priority="normal", first_response_minutes=60, resolution_minutes=480)
    bob = agent(team, username="bob")
    ticket = ticket_create(subject="Close fast", requester=ContactFactory(email="dan@customer.example"), queue=queue)
    ticket = ticket_change_status(ticket=ticket, status="solved", actor=bob)  # task not run (no commit callbacks)
    ticket = ticket_change_status(ticket=ticket, status="closed", actor=bob)
    assert csat_request_send(ticket_id=ticket.pk) is True
    assert csat_request_send(ticket_id=ticket.pk) is False
    assert [m.to for m in _csat_mails()] == [["dan@customer.example"]]
