"""The SLA sweep (beat, every minute): mark breaches and warn before them, set-based — one statement per kind
(UPDATE … RETURNING feeding the history and notification inserts in the same statement), whatever the number of
tickets."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

_OPEN = ["new", "open", "pending", "on_hold"]
_RUNNING = ["new", "open"]  # pending/on hold have no resolution due time

_MARK = {
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
_FILE = """
    WITH marked AS ({mark}),
    history AS (
        INSERT INTO crm_tickethistory (ticket_id, kind, old_value, new_value, actor_id, at)
        SELECT id, %(kind)s, '', %(label)s, NULL, %(now)s FROM marked),
    people AS (
        SELECT id, number, assignee_id AS user_id FROM marked WHERE assignee_id IS NOT NULL
        UNION SELECT m.id, m.number, team.manager_id FROM marked m JOIN crm_team team ON team.id = m.team_id
              WHERE team.manager_id IS NOT NULL
        UNION SELECT m.id, m.number, member.user_id FROM marked m
              JOIN crm_team_members member ON member.team_id = m.team_id WHERE m.assignee_id IS NULL),
    notices AS (
        INSERT INTO crm_supportnotification (user_id, ticket_id, kind, text, created_at, read_at)
        SELECT user_id, id, %(notice_kind)s, replace(%(text)s, '{{n}}', number::text), %(now)s, NULL FROM people
        ON CONFLICT (user_id, ticket_id, kind) DO NOTHING)
    SELECT count(*) FROM marked"""
# kind: (history kind, notice kind, history label, notice text)
_TEXT = {
    "first_response": ("sla_breach", "sla_first_breach", "First response",
                       "Ticket #{n} missed its first-response target."),
    "resolution": ("sla_breach", "sla_breach", "Resolution", "Ticket #{n} missed its resolution target."),
    "warning": ("sla_warning", "sla_warning", "Resolution", "Ticket #{n} will miss its resolution target soon."),
}


@transaction.atomic
def tickets_sla_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Mark first-response and resolution breaches and warn tickets about to breach, once each.

    Each marked ticket gets a history row (shown on the ticket and the requester's timeline) and a notification
    to its assignee and its team's manager — or, when unassigned, to the team's members. Safe to run twice or
    concurrently: every UPDATE only takes rows not yet marked (a concurrent sweep re-checks them after the
    first commits). Returns the counts per kind."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for kind, mark in _MARK.items():
            history_kind, notice_kind, label, text = _TEXT[kind]
            cursor.execute(_FILE.format(mark=mark), {"now": now, "open": _OPEN, "running": _RUNNING,
                                                     "kind": history_kind, "notice_kind": notice_kind,
                                                     "label": label, "text": text})
            counts[kind] = cursor.fetchone()[0]
    return counts
