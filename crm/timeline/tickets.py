"""Ticket history on the requester's timeline: creation, status / priority / assignee changes, SLA breaches and
ratings of the tickets the viewer may see. Registered in CrmConfig.ready()."""

from __future__ import annotations

from django.urls import reverse

from crm.extensions import TimelineEntry, register_timeline_provider
from crm.models import TicketHistory
from crm.selectors.tickets import tickets_visible_q


def _title(row: TicketHistory) -> str:
    ticket = row.ticket
    prefix = f"Ticket #{ticket.number}"
    if row.kind == TicketHistory.Kind.CREATED:
        return f"{prefix} opened: {ticket.subject}"
    if row.kind == TicketHistory.Kind.SLA_BREACH:
        return f"{prefix}: {row.new_value} SLA breached"
    if row.kind == TicketHistory.Kind.SLA_WARNING:
        return f"{prefix}: {row.new_value} SLA due soon"
    if row.kind == TicketHistory.Kind.CSAT:
        return f"{prefix} rated {row.new_value}"
    label = row.get_kind_display().lower()
    return f"{prefix} {label} {row.old_value or '—'} → {row.new_value or '—'}"


def tickets_timeline(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    if subject._meta.model_name != "contact" or subject.pk is None:
        return []
    rows = TicketHistory.objects.filter(ticket__requester=subject).select_related("ticket", "actor")
    q = tickets_visible_q(user, prefix="ticket__")
    if q is not None:
        rows = rows.filter(q)
    return [
        TimelineEntry(at=row.at, kind="ticket", title=_title(row),
                      url=reverse("support-ticket", args=[row.ticket_id]),
                      actor=(row.actor.get_full_name() or row.actor.get_username()) if row.actor else "System",
                      extra={"ticket_id": row.ticket_id, "history_kind": row.kind})
        for row in rows.order_by("-at", "-id")[:limit]
    ]


def register() -> None:
    register_timeline_provider(tickets_timeline)
