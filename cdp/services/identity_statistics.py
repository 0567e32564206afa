"""Planner statistics of identity resolution's tables on a new database.

Identity resolution looks identifiers, event links and profiles up by profile id (``profile_id = ANY(...)``).
Until a table has been analysed once, Postgres has no statistics for that column and assumes each value matches
0.5% of the rows: a lookup of a few hundred profiles then seems to match the whole table, and it is planned as a
scan of the whole table, in every batch. On a new install these tables grow from nothing by thousands of rows a
second, and autovacuum analyses them only on its next round (a minute by default; never on a server that runs
without it). So the first batches that find such a table grown and still without statistics analyse it once;
from then on autovacuum keeps the statistics current.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

TABLES = ("cdp_identifier", "cdp_eventprofile", "cdp_profile")
MIN_BYTES = 1 << 20  # below about 8,000 identifiers a scan of the whole table costs nothing worth a plan


@dataclass
class _Checks:
    confirmed: bool = False  # every table had statistics: nothing more to do in this process
    batches: int = 0


_checks = _Checks()


def identity_statistics_ensure(*, tables: tuple[str, ...] | None = None, every: int = 20,
                               min_bytes: int | None = None) -> list[str]:
    """Analyse those of ``tables`` (default: TABLES) that have grown past ``min_bytes`` (default: MIN_BYTES)
    without statistics; returns their names.

    Checked on every ``every``-th call of this process (one catalog query) until all of them have statistics.
    Identity resolution calls it between its transactions, so the other workers see the statistics at once."""
    if _checks.confirmed:
        return []
    tables = TABLES if tables is None else tables
    min_bytes = MIN_BYTES if min_bytes is None else min_bytes
    _checks.batches += 1
    if (_checks.batches - 1) % every:
        return []
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT t, pg_relation_size(t::regclass) >= %s
              FROM unnest(%s::text[]) AS t
             WHERE NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = current_schema() AND s.tablename = t)
            """,
            [min_bytes, list(tables)],
        )
        missing = cur.fetchall()
        grown = [t for t, big in missing if big]
        if grown:
            cur.execute(f"ANALYZE {', '.join(connection.ops.quote_name(t) for t in grown)}")
    _checks.confirmed = len(grown) == len(missing)
    return grown


def identity_statistics_forget() -> None:
    """Check again from the next call (tests; a process that learns the tables were recreated)."""
    _checks.confirmed, _checks.batches = False, 0
