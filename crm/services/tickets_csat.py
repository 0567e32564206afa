"""Customer satisfaction: on solve the requester gets a signed one-use link to rate the ticket 1–5."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from crm.models import Ticket, TicketHistory
from crm.services.tickets_mail import support_from_address

_SALT = "crm.ticket.csat"
MAX_AGE_DAYS = 30


def csat_token(ticket: Ticket) -> str:
    """A token for this solve of the ticket: a later solve makes a new one, and the old stops working."""
    return signing.dumps({"t": ticket.pk, "s": ticket.solved_at.isoformat()}, salt=_SALT, compress=True)


def csat_ticket_for_token(token: str) -> Ticket:
    """The ticket the token rates. ValidationError when forged, expired, already used or no longer solved."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=MAX_AGE_DAYS * 86400)
    except signing.BadSignature as exc:
        raise ValidationError("This rating link is not valid or has expired.") from exc
    ticket = Ticket.objects.filter(pk=data.get("t")).first()
    if ticket is None or ticket.solved_at is None or ticket.solved_at.isoformat() != data.get("s"):
        raise ValidationError("This rating link is no longer valid.")
    if _rated_this_solve(ticket):
        raise ValidationError("Thank you — this ticket has already been rated.")
    return ticket


def _rated_this_solve(ticket: Ticket) -> bool:
    # A rating given before a reopen belongs to the earlier solve: the new solve's link may rate again.
    return ticket.csat_at is not None and ticket.csat_at >= ticket.solved_at


@transaction.atomic
def csat_request_send(*, ticket_id: int) -> bool:
    """Mail the requester the rating link for the ticket's current solve, once per solve: the ticket row is locked
    and ``csat_requested_for`` records the solve the request went out for, so a retried or replayed task, or two
    workers at once, send nothing more; a ticket reopened and solved again gets a new request. The marker is
    written in the same transaction as the send: if sending fails (the task retries) nothing is marked.
    No-op (False) for a ticket reopened since, without a requester email, or already asked for this solve."""
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester", "queue").get(pk=ticket_id)
    if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED) or ticket.solved_at is None:
        return False
    if ticket.csat_requested_for == ticket.solved_at or _rated_this_solve(ticket):
        return False
    if ticket.requester is None or not ticket.requester.email:
        return False
    url = settings.SITE_URL.rstrip("/") + reverse("support-csat", args=[csat_token(ticket)])
    body = (f"Your request {ticket.reference} “{ticket.subject}” has been solved.\n\n"
            f"How did we do? Rate us from 1 to 5 here:\n{url}\n")
    EmailMessage(subject=f"How did we do? {ticket.reference}", body=body, from_email=support_from_address(ticket),
                 to=[ticket.requester.email], headers={"Auto-Submitted": "auto-generated"}).send()
    ticket.csat_requested_for = ticket.solved_at
    ticket.save(update_fields=["csat_requested_for"])
    return True


@transaction.atomic
def csat_submit(*, token: str, rating: int, comment: str = "") -> Ticket:
    """Record the rating once (the row is locked; a second use fails). ValidationError for bad input."""
    ticket = csat_ticket_for_token(token)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError("Choose a rating from 1 to 5.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if _rated_this_solve(ticket):
        raise ValidationError("Thank you — this ticket has already been rated.")
    now = timezone.now()
    ticket.csat_rating, ticket.csat_comment, ticket.csat_at = rating, (comment or "").strip()[:5000], now
    ticket.save(update_fields=["csat_rating", "csat_comment", "csat_at"])
    TicketHistory.objects.create(ticket=ticket, kind=TicketHistory.Kind.CSAT, new_value=f"{rating}/5", at=now)
    from crm.services.tickets import ticket_event_record

    ticket_event_record(ticket=ticket, event="CSAT Submitted", extra={"rating": rating, "comment": ticket.csat_comment})
    return ticket
