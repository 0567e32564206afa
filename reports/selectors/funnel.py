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
    """The funnel in one query, one ordered pass per person instead of joins between the steps' events.

    Every step event becomes a row (person, ts, idx) — an event whose name is several steps' becomes several
    rows — ordered per person by time, latest first. For a row, "the earliest event of step k strictly after
    it" is a running MIN over the rows already seen in that order (a frame that only grows, so it costs one
    step per row). Paths are greedy, so the path that continues from a step-k event depends only on its time
    and only grows later with it: the path on from a step-j row is its next step-(j+1) time followed by the
    path of the earliest step-(j+1) row after it, i.e. the per-column MIN of those rows' paths. One window
    pass per step builds the paths from the last step down to step 1; the conversion window then cuts each
    path at t1 + window, and each person keeps the start that gets furthest (the earliest on ties).
    """
    n = len(query.steps)
    raw, links = RawEvent._meta.db_table, EventProfile._meta.db_table
    values = ", ".join(f"({i + 1}, %s)" for i in range(n))
    breakdown = "e.payload->'properties'->>%s" if query.breakdown else "NULL::text"
    params: list = list(query.steps)
    if query.breakdown:
        params.append(query.breakdown)
    window = query.window
    start, end = query.filters.start_at, query.filters.end_before
    # The events table is partitioned by received_at: bound it loosely around the timestamps (clients may send
    # events up to a day late) so that only the period's partitions are read.
    params += [start - timedelta(days=1), end + window + timedelta(days=1), start, end + window]
    # Latest first, so that the frame of "the rows strictly later than this one" starts at the partition's start
    # and only grows (an aggregate over a growing frame is updated, not recomputed, per row).
    later = ("(PARTITION BY pid, anon ORDER BY ts DESC "
             "RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond'::interval PRECEDING)")
    # passes[0] adds, for every row, the next time of each step k >= 2 (n{k}). Pass j (1 <= j <= n-2) adds the
    # path on from a step-(n-1-j) row: p{j}_{k} for k > n-1-j, the MIN over later step-(n-j) rows of their path.
    # The breakdown value of a start is the least among the person's step-1 events at that time (its peers).
    peers = ("MIN(bd) OVER (PARTITION BY pid, anon ORDER BY ts DESC RANGE BETWEEN CURRENT ROW AND CURRENT ROW)"
             if query.breakdown else "NULL::text")
    layers = [f"""SELECT ev.*, {peers} AS bd1, {", ".join(f"MIN(ts) FILTER (WHERE idx = {k}) OVER w AS n{k}"
                                                          for k in range(2, n + 1))}
                  FROM ev WINDOW w AS {later}"""]

    def path(j: int, k: int) -> str:
        """Column holding t_k of the path that continues from a step-(n-1-j) row, after pass j."""
        s = n - 1 - j  # the step of the rows whose path pass j completes
        return f"n{k}" if k == s + 1 else f"p{j}_{k}"

    for j in range(1, n - 1):
        s = n - 1 - j
        cols = ", ".join(f"MIN({path(j - 1, k)}) FILTER (WHERE idx = {s + 1}) OVER w AS p{j}_{k}"
                         for k in range(s + 2, n + 1))
        layers.append(f"SELECT l.*, {cols} FROM layer{j - 1} l WINDOW w AS {later}")
    last = n - 2  # after it, step-1 rows hold their whole path: t_k in path(last, k) for k = 2..n
    t = {k: path(last, k) for k in range(2, n + 1)}
    params += [window] * (n - 1)
    gaps = ", ".join(f"EXTRACT(EPOCH FROM l.{t[k]} - l.{t[k - 1] if k > 2 else 'ts'}) AS gap_{k}"
                     for k in range(2, n + 1))
    # (Path times are increasing, so the times within the window are a prefix of the path: NULL <= x is NULL,
    # and a sum with a NULL term is NULL, hence COALESCE per term.)
    reached = " + ".join(f"COALESCE((l.{t[k]} <= l.ts + %s)::int, 0)" for k in range(2, n + 1))
    counts = ", ".join(f"COUNT(*) FILTER (WHERE level >= {k}) AS reached_{k}" for k in range(1, n + 1))
    medians = ", ".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_{k}) FILTER (WHERE level >= {k}) AS median_{k}"
        for k in range(2, n + 1))
    chain = ",\n        ".join(f"layer{j} AS ({sql})" for j, sql in enumerate(layers))
    sql = f"""
        WITH steps(idx, name) AS (VALUES {values}),
        ev AS (SELECT p.profile_id AS pid,
                      CASE WHEN p.profile_id IS NULL
                           THEN COALESCE('a:' || e.anonymous_id, 'u:' || e.user_id) END COLLATE "C" AS anon,
                      e.timestamp AS ts, s.idx, CASE WHEN s.idx = 1 THEN {breakdown} END AS bd
                 FROM {raw} e JOIN steps s ON s.name = e.event
                 LEFT JOIN {links} p ON p.event_id = e.id AND p.received_at = e.received_at
                WHERE e.type = 'track' AND e.received_at >= %s AND e.received_at < %s
                  AND e.timestamp >= %s AND e.timestamp < %s
                  AND (e.anonymous_id IS NOT NULL OR e.user_id IS NOT NULL OR p.profile_id IS NOT NULL)),
        {chain},
        starts AS (SELECT l.pid, l.anon, l.ts, l.bd1 AS bd, 1 + {reached} AS level, {gaps}
                     FROM layer{last} l WHERE l.idx = 1 AND l.ts >= %s AND l.ts < %s),
        best AS (SELECT DISTINCT ON (pid, anon) * FROM starts ORDER BY pid, anon, level DESC, ts)
        SELECT COALESCE(bd, '(none)') AS breakdown, {counts}, {medians}
          FROM best GROUP BY 1
    """
    params += [start, end]
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
