"""Event funnels over the events table, computed in SQL (one query).

Definition (what tests/reports/test_funnel.py checks against a brute-force Python computation):

- A person is the profile an event belongs to (identity resolution), else its anonymousId, else its userId.
- Steps are 2 to 5 track event names, in order (a name may repeat). A person's attempt starts at any event of
  step 1 whose time lies in the period; step k+1 is the person's earliest event of that name strictly after
  step k's, no later than the start plus the conversion window.
- Each person counts once, with the attempt that gets furthest (the earliest such start on ties); the
  breakdown value is the chosen start event's ``properties[<breakdown>]``.
- Per step: persons who reached it, conversion from step 1 and from the previous step, and the median time
  from the previous step over the persons who reached it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from django.db import connection, transaction

from cdp.models import EventProfile, RawEvent
from reports.filters import ReportFilters
from reports.sections import ratio
from reports.sql import frame

MIN_STEPS, MAX_STEPS = 2, 5
MAX_BREAKDOWN_VALUES = 20


@dataclass(frozen=True)
class FunnelQuery:
    steps: tuple[str, ...]
    window: timedelta
    filters: ReportFilters
    breakdown: str = ""


def _sql(query: FunnelQuery) -> tuple[str, list]:
    n = len(query.steps)
    raw, links = RawEvent._meta.db_table, EventProfile._meta.db_table
    values = ", ".join(f"({i + 1}, %s)" for i in range(n))
    breakdown = "e.payload->'properties'->>%s" if query.breakdown else "NULL::text"
    params: list = list(query.steps)
    # The events table is partitioned by received_at: bound it loosely around the timestamps (clients may send
    # events up to a day late) so that only the period's partitions are read.
    window = query.window
    start, end = query.filters.start_at, query.filters.end_before
    scan = [start - timedelta(days=1), end + window + timedelta(days=1), start, end + window]
    chain = []
    for k in range(2, n + 1):
        chain.append(f"""
        c{k} AS (SELECT c.person, c.t1, MIN(e.ts) AS t
                   FROM c{k - 1} c JOIN ev e ON e.person = c.person AND e.idx = {k}
                                         AND e.ts > c.t AND e.ts <= c.t1 + %s
                  GROUP BY 1, 2)""")
    times = ", ".join(f"c{k}.t AS t{k}" for k in range(2, n + 1))
    joins = " ".join(f"LEFT JOIN c{k} ON c{k}.person = c1.person AND c{k}.t1 = c1.t1" for k in range(2, n + 1))
    level = "CASE " + " ".join(f"WHEN c{k}.t IS NOT NULL THEN {k}" for k in range(n, 1, -1)) + " ELSE 1 END"
    counts = ", ".join(f"COUNT(*) FILTER (WHERE level >= {k}) AS reached_{k}" for k in range(1, n + 1))
    medians = ", ".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t{k} - t{k - 1})) AS median_{k}"
        for k in range(2, n + 1))
    sql = f"""
        WITH steps(idx, name) AS (VALUES {values}),
        ev AS (SELECT COALESCE(p.profile_id::text, 'a:' || e.anonymous_id, 'u:' || e.user_id) AS person,
                      e.timestamp AS ts, s.idx, CASE WHEN s.idx = 1 THEN {breakdown} END AS bd
                 FROM {raw} e JOIN steps s ON s.name = e.event
                 LEFT JOIN {links} p ON p.event_id = e.id AND p.received_at = e.received_at
                WHERE e.type = 'track' AND e.received_at >= %s AND e.received_at < %s
                  AND e.timestamp >= %s AND e.timestamp < %s
                  AND (e.anonymous_id IS NOT NULL OR e.user_id IS NOT NULL OR p.profile_id IS NOT NULL)),
        c1 AS (SELECT person, ts AS t1, ts AS t, MIN(bd) AS bd FROM ev
                WHERE idx = 1 AND ts >= %s AND ts < %s GROUP BY person, ts),
        {",".join(chain)},
        best AS (SELECT DISTINCT ON (c1.person) c1.person, c1.bd, c1.t1, {times}, {level} AS level
                   FROM c1 {joins}
                  ORDER BY c1.person, level DESC, c1.t1)
        SELECT COALESCE(bd, '(none)') AS breakdown, {counts}, {medians}
          FROM best GROUP BY 1
    """
    if query.breakdown:
        params.append(query.breakdown)
    params += scan + [start, end] + [window] * (n - 1)
    return sql, params


def funnel(query: FunnelQuery) -> pd.DataFrame:
    """One row per (breakdown value, step): persons, conversion from step 1 and from the previous step, median
    seconds from the previous step. Without a breakdown the value is "(all)"; breakdown values are the
    ``MAX_BREAKDOWN_VALUES`` with the most persons at step 1."""
    if not MIN_STEPS <= len(query.steps) <= MAX_STEPS:
        raise ValueError(f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps.")
    n = len(query.steps)
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner cannot estimate the CTEs' sizes (it guesses one row) and would join the step events by a
        # nested loop, quadratic in events per person; the joins are on person, so hash joins are always right.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        wide = frame(*_sql(query))
    if not query.breakdown:
        wide["breakdown"] = "(all)"
    if wide.empty:
        wide = pd.DataFrame([{"breakdown": "(all)" if not query.breakdown else "(none)",
                              **{f"reached_{k}": 0 for k in range(1, n + 1)},
                              **{f"median_{k}": None for k in range(2, n + 1)}}])
    wide = wide.sort_values(["reached_1", "breakdown"], ascending=[False, True]).head(MAX_BREAKDOWN_VALUES)
    order = {value: i for i, value in enumerate(wide["breakdown"])}
    parts = [pd.DataFrame({"breakdown": wide["breakdown"], "step": k, "reached": wide[f"reached_{k}"],
                           "median": wide[f"median_{k}"] if k > 1 else float("nan")}) for k in range(1, n + 1)]
    long = pd.concat(parts, ignore_index=True)
    long = long.sort_values(["breakdown", "step"], key=lambda col: col.map(order) if col.name == "breakdown"
                            else col, ignore_index=True)
    long["name"] = long["step"].map(lambda k: query.steps[k - 1])
    long["reached"] = long["reached"].astype("int64")
    first = long.groupby("breakdown")["reached"].transform("first")
    previous = long.groupby("breakdown")["reached"].shift(1)
    long["conversion"] = ratio(long["reached"], first)
    long["from_previous"] = ratio(long["reached"], previous)
    long["median_seconds"] = pd.to_numeric(long["median"], errors="coerce").astype(float).round(1)
    return long[["breakdown", "step", "name", "reached", "conversion", "from_previous", "median_seconds"]]
