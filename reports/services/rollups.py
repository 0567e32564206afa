"""Hourly roll-ups of the events table, rebuilt incrementally.

Each run recomputes every UTC hour from ``since`` on (default: the last ``REFRESH_HOURS`` hours) from the raw
events — delete and re-insert inside one transaction under an advisory lock — so it is safe to run twice or
concurrently, and events committed late (received_at is set before commit) are picked up by the next runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from cdp.models import RawEvent
from reports.models import EventHourly, PageHourly

REFRESH_HOURS = 3
ROLLUP_LOCK = 0x5245_5054  # advisory lock key for roll-up rebuilds ("REPT")
PATH_SQL = ("LEFT(COALESCE(NULLIF(payload->'properties'->>'path', ''), "
            "NULLIF(payload->'context'->'page'->>'path', ''), '(unknown)'), 500)")


def event_rollups_refresh(*, since: datetime | None = None, until: datetime | None = None) -> int:
    """Rebuild the hourly roll-ups for hours in [since, until) (default: the last REFRESH_HOURS hours up to now).
    Returns how many event-hour rows were written."""
    now = timezone.now()
    since = (since or now - timedelta(hours=REFRESH_HOURS)).replace(minute=0, second=0, microsecond=0)
    until = until or now + timedelta(hours=1)
    raw, ev, pages = RawEvent._meta.db_table, EventHourly._meta.db_table, PageHourly._meta.db_table
    params = {"since": since, "until": until}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(f"DELETE FROM {ev} WHERE hour >= %(since)s AND hour < %(until)s", params)
        cursor.execute(f"DELETE FROM {pages} WHERE hour >= %(since)s AND hour < %(until)s", params)
        cursor.execute(f"""
            INSERT INTO {ev} (hour, source_id, type, event, events, identified)
            SELECT date_trunc('hour', received_at), source_id, type, COALESCE(event, ''), COUNT(*), COUNT(user_id)
              FROM {raw} WHERE received_at >= %(since)s AND received_at < %(until)s
             GROUP BY 1, 2, 3, 4""", params)
        written = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO {pages} (hour, path, views)
            SELECT date_trunc('hour', received_at), {PATH_SQL}, COUNT(*)
              FROM {raw} WHERE type = 'page' AND received_at >= %(since)s AND received_at < %(until)s
             GROUP BY 1, 2""", params)
    return written
