"""The public web form: a fixed-window rate limit per client address (in the cache, i.e. Redis) and the ticket
it creates."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from crm.models import Ticket, TicketQueue
from crm.services.tickets import ticket_create
from crm.services.tickets_contacts import contact_for_email


def _rate() -> tuple[int, int]:
    count, _slash, window = settings.SUPPORT_WEB_FORM_RATE.partition("/")
    unit = window[-1]
    seconds = int(window[:-1] or 1) * {"s": 1, "m": 60, "h": 3600}.get(unit, 60)
    return int(count), seconds


def webform_allow(*, client: str) -> bool:
    """Count one submission from ``client``; False once the client is over the limit in this window."""
    limit, window = _rate()
    key = f"support:webform:{client}"
    cache.add(key, 0, timeout=window)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        used = 1
    return used <= limit


def webform_ticket_create(*, name: str, email: str, subject: str, message: str) -> Ticket:
    requester = contact_for_email(email=email, name=name)
    queue = TicketQueue.objects.filter(is_default=True).first() or TicketQueue.objects.order_by("pk").first()
    return ticket_create(subject=subject, description=message, requester=requester, queue=queue,
                         channel=Ticket.Channel.WEB)
