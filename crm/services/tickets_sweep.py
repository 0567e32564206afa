"""The SLA sweep (beat, every minute): mark breaches and warn before them, set-based — one UPDATE … RETURNING
per kind, then bulk inserts of history rows and notifications, whatever the number of tickets."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from crm.models import SupportNotification, Team, TicketHistory

_OPEN = ("new", "open", "pending", "on_hold")
_RUNNING = ("new", "open")  # pending/on hold have no resolution due time

_SQL = {
    "first_response": """
        UPDATE crm_ticket SET first_response_breached_at = %(now)s
        WHERE status = ANY(%(open)s) AND first_response_at IS NULL AND first_response_breached_at IS NULL
          AND first_response_due_at < %(now)s
        RETURNING id, number, assignee_id, team_id""",
    "resolution": """
        UPDATE crm_ticket SET resolution_breached_at = %(now)s
        WHERE status = ANY(%(running)s) AND resolution_breached_at IS NULL AND resolution_due_at < %(now)s
        RETURNING id, number, assignee_id, team_id""",
    "warning": """
        UPDATE crm_ticket t SET sla_warned_at = %(now)s
        FROM crm_slapolicy p
        WHERE p.id = t.sla_policy_id AND t.status = ANY(%(running)s) AND t.sla_warned_at IS NULL
          AND t.resolution_breached_at IS NULL AND t.resolution_due_at >= %(now)s
          AND t.resolution_due_at < %(now)s + make_interval(mins => p.warn_before_minutes)
        RETURNING t.id, t.number, t.assignee_id, t.team_id""",
}
_TEXT = {
    "first_response": ("sla_breach", "First response", "Ticket #{n} missed its first-response target."),
    "resolution": ("sla_breach", "Resolution", "Ticket #{n} missed its resolution target."),
    "warning": ("sla_warning", "Resolution", "Ticket #{n} will miss its resolution target soon."),
}


@transaction.atomic
def tickets_sla_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Mark first-response and resolution breaches and warn tickets about to breach, once each.

    Each marked ticket gets a history row (shown on the ticket and the requester's timeline) and a notification
    to its assignee and its team's manager — or, when unassigned, to the team's members. Safe to run twice:
    every UPDATE only takes rows not yet marked. Returns the counts per kind."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    history: list[TicketHistory] = []
    notices: list[SupportNotification] = []
    team_people: dict[int, tuple[int | None, list[int]]] = {}
    with connection.cursor() as cursor:
        for kind, sql in _SQL.items():
            cursor.execute(sql, {"now": now, "open": list(_OPEN), "running": list(_RUNNING)})
            rows = cursor.fetchall()
            counts[kind] = len(rows)
            history_kind, label, text = _TEXT[kind]
            missing = {team for _id, _n, _a, team in rows if team is not None and team not in team_people}
            if missing:
                for team in Team.objects.filter(pk__in=missing).prefetch_related("members"):
                    team_people[team.pk] = (team.manager_id, [m.pk for m in team.members.all()])
            for ticket_id, number, assignee_id, team_id in rows:
                history.append(TicketHistory(ticket_id=ticket_id, kind=history_kind, new_value=label, at=now))
                manager, members = team_people.get(team_id, (None, []))
                people = {assignee_id, manager} if assignee_id else {manager, *members}
                notices += [SupportNotification(user_id=user_id, ticket_id=ticket_id, kind=history_kind,
                                                text=text.format(n=number)) for user_id in people if user_id]
    TicketHistory.objects.bulk_create(history, batch_size=5000)
    SupportNotification.objects.bulk_create(notices, batch_size=5000, ignore_conflicts=True)
    return counts
