"""The web touches table behind attribution (``reports.models.Touch``), kept up to date incrementally.

``touches_refresh`` recomputes the touches of every event received in [since, until) (default: the last
``REFRESH_HOURS`` hours, as the event roll-ups) from the raw events and their profile links — delete and
re-insert inside one transaction under the roll-ups' advisory lock — so it is safe to run twice or concurrently,
and events received or linked to a profile late are picked up by the next runs. It also re-points the touches
of profiles merged or split since ``since`` at the profile their event belongs to now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from cdp.models import EventProfile, IdentifierSplit, ProfileMerge, RawEvent
from reports.models import Touch
from reports.services.rollups import REFRESH_HOURS, ROLLUP_LOCK

# A page view's campaign and referring host (NULL when it is the page's own), from its payload.
_COLUMNS = """
    NULLIF(e.payload->'context'->'campaign'->>'source', '') AS utm_source,
    NULLIF(e.payload->'context'->'campaign'->>'medium', '') AS utm_medium,
    NULLIF(e.payload->'context'->'campaign'->>'name', '') AS utm_campaign,
    substring(COALESCE(NULLIF(e.payload->'context'->'page'->>'referrer', ''),
                       e.payload->'properties'->>'referrer') from '^[a-zA-Z]+://([^/:?#]+)') AS ref_host,
    substring(COALESCE(NULLIF(e.payload->'context'->'page'->>'url', ''), e.payload->'properties'->>'url')
              from '^[a-zA-Z]+://([^/:?#]+)') AS page_host
"""


def touches_refresh(*, since: datetime | None = None, until: datetime | None = None) -> int:
    """Recompute the touches of the events received in [since, until) and re-point touches of profiles merged
    or split since ``since``. Returns how many touches were written."""
    now = timezone.now()
    since = since or now - timedelta(hours=REFRESH_HOURS)
    until = until or now + timedelta(hours=1)
    raw, links, touches = RawEvent._meta.db_table, EventProfile._meta.db_table, Touch._meta.db_table
    merges, splits = ProfileMerge._meta.db_table, IdentifierSplit._meta.db_table
    params = {"since": since, "until": until}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(f"DELETE FROM {touches} WHERE received_at >= %(since)s AND received_at < %(until)s", params)
        cursor.execute(f"""
            INSERT INTO {touches} (event_id, received_at, profile_id, ts, utm_source, utm_medium, utm_campaign,
                                   referrer)
            SELECT t.id, t.received_at, t.profile_id, t.timestamp, t.utm_source, t.utm_medium, t.utm_campaign,
                   CASE WHEN t.ref_host IS DISTINCT FROM t.page_host THEN t.ref_host END
              FROM (SELECT e.id, e.received_at, ep.profile_id, e.timestamp, {_COLUMNS}
                      FROM {raw} e JOIN {links} ep ON ep.event_id = e.id AND ep.received_at = e.received_at
                     WHERE e.type = 'page' AND e.received_at >= %(since)s AND e.received_at < %(until)s
                       AND ep.received_at >= %(since)s AND ep.received_at < %(until)s) AS t
             WHERE t.utm_source IS NOT NULL OR t.utm_medium IS NOT NULL OR t.utm_campaign IS NOT NULL
                OR (t.ref_host IS NOT NULL AND t.ref_host IS DISTINCT FROM t.page_host)""", params)
        written = cursor.rowcount
        # A merge or split moves events to another profile (cdp_eventprofile); their touches follow.
        cursor.execute(f"""
            UPDATE {touches} t SET profile_id = ep.profile_id
              FROM {links} ep
             WHERE t.profile_id IN (SELECT merged_id FROM {merges} WHERE at >= %(since)s
                                    UNION SELECT from_profile_id FROM {splits} WHERE at >= %(since)s)
               AND ep.event_id = t.event_id AND ep.received_at = t.received_at
               AND ep.profile_id <> t.profile_id""", params)
    return written
