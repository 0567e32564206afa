"""Outgoing ticket mail through Django's email backend, with headers that thread in the customer's mail client
and that inbound replies are matched by (Message-ID of ours, In-Reply-To / References of theirs, and the
``[#number]`` reference in the subject)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import EmailMessage

from config.queueing import enqueue_on_commit
from crm.models import Ticket, TicketEntry

_suppressed: ContextVar[bool] = ContextVar("ticket_mail_suppressed", default=False)


@contextmanager
def ticket_mail_suppressed() -> Iterator[None]:
    """Send no customer mail for changes made inside (demo data, bulk loads)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def ticket_mail_queue(task_name: str, object_id: int) -> None:
    """Queue the mail task named ``task_name`` for after the commit (unless suppressed); the worker sends it."""
    if not _suppressed.get():
        enqueue_on_commit(task_name, object_id)


def mail_domain() -> str:
    return settings.SUPPORT_MAIL_DOMAIN


def outgoing_message_id(entry: TicketEntry) -> str:
    return f"<ticket-{entry.ticket.number}-{entry.pk}@{mail_domain()}>"


def support_from_address(ticket: Ticket) -> str:
    return (ticket.queue.email_address if ticket.queue_id and ticket.queue.email_address
            else settings.DEFAULT_FROM_EMAIL)


def thread_headers(ticket: Ticket, *, exclude_entry_id: int | None = None) -> dict[str, str]:
    """In-Reply-To (the latest message of the thread) and References (the whole thread, oldest first)."""
    ids = [ticket.message_id] if ticket.message_id else []
    ids += list(TicketEntry.objects.filter(ticket=ticket).exclude(message_id="").exclude(pk=exclude_entry_id)
                .order_by("created_at", "id").values_list("message_id", flat=True))
    ids = list(dict.fromkeys(ids))
    return {"In-Reply-To": ids[-1], "References": " ".join(ids[-20:])} if ids else {}


def reply_mail_send(*, entry_id: int) -> bool:
    """Mail a public agent reply to the requester (no-op without a requester email). Records the Message-ID
    on the entry so the customer's answer threads back. Returns whether a mail was sent."""
    entry = TicketEntry.objects.select_related("ticket", "ticket__queue", "ticket__requester", "author").get(
        pk=entry_id)
    ticket = entry.ticket
    if entry.kind != TicketEntry.Kind.PUBLIC or entry.incoming or not (ticket.requester and ticket.requester.email):
        return False
    if entry.message_id:  # already sent (a retried task)
        return False
    message_id = outgoing_message_id(entry)
    headers = {"Message-ID": message_id, **thread_headers(ticket, exclude_entry_id=entry.pk)}
    EmailMessage(subject=f"Re: {ticket.subject} {ticket.reference}", body=entry.body,
                 from_email=support_from_address(ticket), to=[ticket.requester.email], headers=headers).send()
    TicketEntry.objects.filter(pk=entry.pk).update(message_id=message_id)
    return True
