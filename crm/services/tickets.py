"""Ticket services: create, reply, note, change status / priority / assignee / queue, round-robin assignment.

Every change writes a TicketHistory row (shown on the ticket and on the requester's timeline) and, for the
events the CDP knows (Ticket Created, Ticket Solved, CSAT Submitted), an outbox message in the same transaction.
Callers check permission with the ticket selectors; the services take ``actor`` for the record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from crm.models import (
    AgentAvailability,
    Contact,
    Ticket,
    TicketAttachment,
    TicketEntry,
    TicketHistory,
    TicketQueue,
)
from crm.services.outbox import outbox_record
from crm.services.tickets_html import html_sanitize
from crm.services.tickets_mail import ticket_mail_queue
from crm.services.tickets_sla import sla_apply, sla_pause, sla_resume

S = Ticket.Status
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED}),
    S.SOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
PAUSED = frozenset({S.PENDING, S.ON_HOLD})

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ALLOWED_ATTACHMENT_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "text/csv",
    "application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "message/rfc822",
})


def _display(user) -> str:
    if user is None:
        return ""
    return (user.get_full_name() or user.get_username()) if hasattr(user, "get_full_name") else str(user)


def _history(ticket: Ticket, kind: str, old: Any, new: Any, actor, at: datetime) -> TicketHistory:
    return TicketHistory.objects.create(ticket=ticket, kind=kind, old_value=str(old or "")[:200],
                                        new_value=str(new or "")[:200], actor=actor, at=at)


def ticket_event_record(*, ticket: Ticket, event: str, extra: dict[str, Any] | None = None) -> None:
    """Record a track ``event`` of ``ticket`` in the crm outbox (identity: the requester contact)."""
    properties: dict[str, Any] = {
        "ticket_id": ticket.pk, "number": ticket.number, "subject": ticket.subject, "status": ticket.status,
        "priority": ticket.priority, "channel": ticket.channel, "queue_id": ticket.queue_id,
        "assignee_id": ticket.assignee_id, "company_id": ticket.company_id,
    }
    properties.update(extra or {})
    contact_id = ticket.requester_id
    message: dict[str, Any] = {
        "type": "track", "event": event,
        "anonymousId": f"crm-contact-{contact_id}" if contact_id else f"crm-ticket-{ticket.pk}",
        "properties": properties, "context": {"library": {"name": "crm"}},
    }
    if contact_id:
        message["context"]["externalIds"] = [
            {"id": str(contact_id), "type": "crm_contact_id", "collection": "users", "encoding": "none"}]
    outbox_record(object_type="ticket", object_id=ticket.pk, message=message)


def _validate_attachments(files: Sequence[UploadedFile]) -> None:
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError({"attachments": [f"{upload.name} is larger than 10 MB."]})
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        if content_type not in ALLOWED_ATTACHMENT_TYPES:
            raise ValidationError({"attachments": [f"{upload.name}: files of type {content_type or 'unknown'} "
                                                   "are not accepted."]})


def _attach(entry: TicketEntry, files: Sequence[UploadedFile]) -> None:
    for upload in files:
        attachment = TicketAttachment(entry=entry, filename=(upload.name or "file")[:255],
                                      content_type=(upload.content_type or "").split(";")[0].strip().lower(),
                                      size=upload.size)
        attachment.file.save(upload.name or "file", upload, save=False)
        attachment.save()


@transaction.atomic
def ticket_create(*, subject: str, description: str = "", requester: Contact | None = None,
                  queue: TicketQueue | None = None, priority: str = Ticket.Priority.NORMAL,
                  channel: str = Ticket.Channel.WEB, actor: AbstractBaseUser | None = None,
                  assignee: AbstractBaseUser | None = None, tags: Sequence[str] = (),
                  custom: dict[str, Any] | None = None, description_html: str = "", message_id: str = "",
                  attachments: Sequence[UploadedFile] = (), now: datetime | None = None) -> Ticket:
    """Open a ticket; its description becomes the first (incoming) conversation entry. SLA targets come from
    the policy for its priority and queue (the default queue when none is given); a round-robin queue assigns it
    when no assignee is given."""
    subject = (subject or "").strip()[:250]
    if not subject:
        raise ValidationError({"subject": ["A ticket needs a subject."]})
    if priority not in Ticket.Priority.values:
        raise ValidationError({"priority": [f"Unknown priority {priority!r}."]})
    _validate_attachments(attachments)
    now = now or timezone.now()
    if queue is None:
        queue = TicketQueue.objects.filter(is_default=True).first()
    ticket = Ticket(subject=subject, description=description, priority=priority, channel=channel,
                    requester=requester, company_id=requester.company_id if requester else None, queue=queue,
                    team_id=queue.team_id if queue else None, tags=list(dict.fromkeys(tags)),
                    custom=custom or {}, message_id=message_id[:255], created_by=actor, created_at=now)
    sla_apply(ticket, now=now)
    ticket.save()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=now)
    ticket.refresh_from_db(fields=["number"])
    entry = TicketEntry.objects.create(ticket=ticket, kind=TicketEntry.Kind.PUBLIC, incoming=actor is None or
                                       channel in (Ticket.Channel.EMAIL, Ticket.Channel.WEB),
                                       author=actor, author_contact=requester, body=description,
                                       body_html=html_sanitize(description_html), message_id=message_id[:255])
    _attach(entry, attachments)
    _history(ticket, TicketHistory.Kind.CREATED, "", ticket.get_status_display(), actor, now)
    ticket_event_record(ticket=ticket, event="Ticket Created")
    if assignee is not None:
        ticket = ticket_assign(ticket=ticket, assignee=assignee, actor=actor, now=now)
    elif queue is not None and queue.round_robin:
        ticket = ticket_round_robin_assign(ticket=ticket, now=now)
    return ticket


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("queue", "sla_policy").get(pk=ticket.pk)


@transaction.atomic
def ticket_change_status(*, ticket: Ticket, status: str, actor: AbstractBaseUser | None,
                         now: datetime | None = None) -> Ticket:
    """Move the ticket to ``status`` if the transition is allowed (ValidationError otherwise). Pending and on
    hold pause the resolution clock; solving sets ``solved_at`` and sends the CSAT request."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    old = ticket.status
    if status == old:
        return ticket
    if status not in ALLOWED_TRANSITIONS.get(old, ()):
        raise ValidationError({"status": [f"A ticket cannot go from {Ticket.Status(old).label} to "
                                          f"{Ticket.Status(status).label if status in S.values else status}."]})
    fields = ["status", "updated_at"]
    if status in PAUSED and old not in PAUSED:
        sla_pause(ticket, now=now)
        fields += ["sla_paused_at", "resolution_remaining_seconds", "resolution_due_at"]
    elif status not in PAUSED and old in PAUSED:
        sla_resume(ticket, now=now)
        fields += ["sla_paused_at", "resolution_remaining_seconds", "resolution_due_at"]
    ticket.status = status
    if status == S.SOLVED:
        ticket.solved_at = now
        fields.append("solved_at")
    elif status == S.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif old == S.SOLVED:
        ticket.solved_at = None
        fields.append("solved_at")
    ticket.save(update_fields=list(dict.fromkeys(fields)))
    _history(ticket, TicketHistory.Kind.STATUS, Ticket.Status(old).label, Ticket.Status(status).label, actor, now)
    if status == S.SOLVED:
        ticket_event_record(ticket=ticket, event="Ticket Solved")
        ticket_mail_queue("crm.ticket_csat_request_send", ticket.pk)
    return ticket


@transaction.atomic
def ticket_change_priority(*, ticket: Ticket, priority: str, actor: AbstractBaseUser | None,
                           now: datetime | None = None) -> Ticket:
    """Change the priority; the SLA targets follow the new priority's policy."""
    if priority not in Ticket.Priority.values:
        raise ValidationError({"priority": [f"Unknown priority {priority!r}."]})
    now = now or timezone.now()
    ticket = _locked(ticket)
    old = ticket.priority
    if old == priority:
        return ticket
    ticket.priority = priority
    if ticket.is_open:
        sla_apply(ticket, now=now)
    ticket.save(update_fields=["priority", "sla_policy", "first_response_due_at", "resolution_due_at",
                               "resolution_remaining_seconds", "updated_at"])
    _history(ticket, TicketHistory.Kind.PRIORITY, Ticket.Priority(old).label, Ticket.Priority(priority).label,
             actor, now)
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None,
                  now: datetime | None = None) -> Ticket:
    """Assign the ticket (None = unassign). The assignee must be an active member of the ticket's team."""
    from crm.selectors.tickets import agent_team_ids

    now = now or timezone.now()
    ticket = _locked(ticket)
    if assignee is not None:
        if not assignee.is_active:
            raise ValidationError({"assignee": ["That user is not active."]})
        if ticket.team_id and not assignee.is_superuser and ticket.team_id not in agent_team_ids(assignee):
            raise ValidationError({"assignee": [f"{_display(assignee)} is not in the ticket's team."]})
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    old = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _history(ticket, TicketHistory.Kind.ASSIGNEE, _display(old), _display(assignee), actor, now)
    return ticket


@transaction.atomic
def ticket_change_queue(*, ticket: Ticket, queue: TicketQueue, actor: AbstractBaseUser | None,
                        now: datetime | None = None) -> Ticket:
    """Move the ticket to ``queue`` (and its team); an assignee outside the new team is unassigned."""
    from crm.selectors.tickets import agent_team_ids

    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.queue_id == queue.pk:
        return ticket
    old = ticket.queue
    ticket.queue, ticket.team_id = queue, queue.team_id
    if ticket.assignee_id and not ticket.assignee.is_superuser and queue.team_id not in agent_team_ids(
            ticket.assignee):
        _history(ticket, TicketHistory.Kind.ASSIGNEE, _display(ticket.assignee), "", actor, now)
        ticket.assignee = None
    if ticket.is_open:
        sla_apply(ticket, now=now)
    ticket.save(update_fields=["queue", "team", "assignee", "sla_policy", "first_response_due_at",
                               "resolution_due_at", "resolution_remaining_seconds", "updated_at"])
    _history(ticket, TicketHistory.Kind.QUEUE, old.name if old else "", queue.name, actor, now)
    return ticket


@transaction.atomic
def ticket_round_robin_assign(*, ticket: Ticket, now: datetime | None = None) -> Ticket:
    """Assign to the next available agent of the queue's team after the one who got the last ticket.

    The queue row is locked, so two tickets arriving together go to different agents."""
    if ticket.queue_id is None:
        return ticket
    queue = TicketQueue.objects.select_for_update().get(pk=ticket.queue_id)
    unavailable = AgentAvailability.objects.filter(available=False).values("user_id")
    agents = list(get_user_model().objects.filter(is_active=True, teams=queue.team_id)
                  .exclude(pk__in=unavailable).order_by("pk").values_list("pk", flat=True))
    if not agents:
        return ticket
    after = [pk for pk in agents if queue.last_assigned_id is not None and pk > queue.last_assigned_id]
    chosen = after[0] if after else agents[0]
    queue.last_assigned_id = chosen
    queue.save(update_fields=["last_assigned"])
    return ticket_assign(ticket=ticket, assignee=get_user_model().objects.get(pk=chosen), actor=None, now=now)


@transaction.atomic
def ticket_reply(*, ticket: Ticket, author: AbstractBaseUser, body: str, status: str | None = None,
                 attachments: Sequence[UploadedFile] = (), now: datetime | None = None) -> TicketEntry:
    """A public reply by an agent, mailed to the requester. The first one sets ``first_response_at``; a new
    ticket becomes open unless ``status`` says otherwise."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write a reply first."]})
    _validate_attachments(attachments)
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status == S.CLOSED:
        raise ValidationError({"body": ["This ticket is closed."]})
    entry = TicketEntry.objects.create(ticket=ticket, kind=TicketEntry.Kind.PUBLIC, author=author, body=body)
    _attach(entry, attachments)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        ticket.save(update_fields=["first_response_at", "updated_at"])
    # Queued before the status change, so the reply goes out before a CSAT request that solving sends.
    ticket_mail_queue("crm.ticket_reply_mail_send", entry.pk)
    target = status or (S.OPEN if ticket.status == S.NEW else None)
    if target and target != ticket.status:
        ticket_change_status(ticket=ticket, status=target, actor=author, now=now)
    return entry


@transaction.atomic
def ticket_note(*, ticket: Ticket, author: AbstractBaseUser, body: str,
                attachments: Sequence[UploadedFile] = ()) -> TicketEntry:
    """An internal note: seen only by those who may work the ticket; never mailed, no SLA effect."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write a note first."]})
    _validate_attachments(attachments)
    entry = TicketEntry.objects.create(ticket=ticket, kind=TicketEntry.Kind.NOTE, author=author, body=body)
    _attach(entry, attachments)
    return entry


@transaction.atomic
def ticket_customer_reply(*, ticket: Ticket, contact: Contact | None, body: str, body_html: str = "",
                          message_id: str = "", attachments: Sequence[UploadedFile] = (),
                          now: datetime | None = None) -> TicketEntry:
    """A reply from the customer (mail): added to the conversation; a solved or pending ticket reopens."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    entry = TicketEntry.objects.create(ticket=ticket, kind=TicketEntry.Kind.PUBLIC, incoming=True,
                                       author_contact=contact, body=body, body_html=html_sanitize(body_html),
                                       message_id=message_id[:255])
    _attach(entry, attachments)
    if ticket.status in (S.SOLVED, S.PENDING):
        ticket_change_status(ticket=ticket, status=S.OPEN, actor=None, now=now)
    return entry


def tickets_bulk_update(*, tickets: Sequence[Ticket], actor: AbstractBaseUser, status: str | None = None,
                        priority: str | None = None, assignee: AbstractBaseUser | None = None,
                        unassign: bool = False) -> tuple[int, list[str]]:
    """Apply the same change to many tickets (each through its service, so history and SLA stay right).

    Returns (number changed, error messages of the ones refused)."""
    changed, errors = 0, []
    for ticket in tickets:
        try:
            with transaction.atomic():
                if status:
                    ticket_change_status(ticket=ticket, status=status, actor=actor)
                if priority:
                    ticket_change_priority(ticket=ticket, priority=priority, actor=actor)
                if assignee is not None or unassign:
                    ticket_assign(ticket=ticket, assignee=assignee, actor=actor)
            changed += 1
        except ValidationError as exc:
            errors.append(f"#{ticket.number}: " + " ".join(exc.messages))
    return changed, errors



def agent_set_available(*, user: AbstractBaseUser, available: bool) -> None:
    """Whether round-robin queues give ``user`` new tickets."""
    AgentAvailability.objects.update_or_create(user=user, defaults={"available": available})


def notifications_mark_read(*, user: AbstractBaseUser) -> int:
    from crm.models import SupportNotification

    return SupportNotification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
