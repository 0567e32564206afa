"""Event funnels over the events and their profile links, computed in SQL (one query).

Definition (what tests/reports/test_funnel.py checks against a brute-force Python computation):

- A person is the profile an event belongs to (identity resolution), else its anonymousId, else its userId
  (events without a profile are those of batches identity resolution has not processed yet).
- Steps are 2 to 5 event names, in order (a name may repeat): track events' names, read for events with a
  profile from the profile links as segments read them, so a page or screen of the same name counts too.
- A person's attempt starts at any event of step 1 whose time lies in the period; step k+1 is the person's
  earliest event of that name strictly after step k's, no later than the start plus the conversion window.
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

from cdp.models import EventProfile, IngestBatch, RawEvent
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
    """The funnel in one query: one ordered pass per person instead of joins between the steps' events.

    The step events are read from the profile links (name, time, profile: the (event_name, timestamp) index,
    without the wide event rows) plus the events of batches identity resolution has not processed yet (by their
    anonymousId or userId). Every step event becomes a row (person, ts, idx) — an event whose name is several
    steps' becomes several rows — ordered per person by time, latest first. For a row, "the earliest event of
    step k strictly after it" is a running MIN over the rows already seen in that order (a frame that only grows,
    so one step per row). Paths are greedy, so the path on from a step-k event depends only on its time and only
    grows later with it: the path on from a step-j row is its next step-(j+1) time followed by the path of the
    earliest step-(j+1) row after it, i.e. the per-column MIN of those rows' paths. One window pass per step
    builds the paths from the last step down to step 1; the conversion window then cuts each path at t1 + window,
    and each person keeps the start that gets furthest (the earliest on ties). The breakdown property is read
    from the chosen start events only.
    """
    n = len(query.steps)
    raw, links, batches = RawEvent._meta.db_table, EventProfile._meta.db_table, IngestBatch._meta.db_table
    window, bd = query.window, query.breakdown
    start, end = query.filters.start_at, query.filters.end_before
    # Latest first, so that the frame of "the rows strictly later than this one" starts at the partition's start
    # and only grows (an aggregate over a growing frame is updated, not recomputed, per row).
    later = ("(PARTITION BY pid ORDER BY ts DESC "
             "RANGE BETWEEN UNBOUNDED PRECEDING AND '1 microsecond'::interval PRECEDING)")
    # A start's breakdown value (rows without a profile carry theirs): the least among the person's step-1
    # events at that time, its peers.
    peers = ("MIN(bd) OVER (PARTITION BY pid ORDER BY ts DESC RANGE BETWEEN CURRENT ROW AND CURRENT ROW)"
             if bd else "NULL::text")
    # layer0 adds, for every row, the next time of each step k >= 2 (n{k}). Layer j (1 <= j <= n-2) adds the
    # path on from a step-(n-1-j) row: p{j}_{k} for k > n-1-j, the MIN over later step-(n-j) rows of their path.
    layers = [f"""SELECT ev.*, {peers} AS bd1, {", ".join(f"MIN(ts) FILTER (WHERE idx = {k}) OVER w AS n{k}"
                                                          for k in range(2, n + 1))}
                  FROM ev WINDOW w AS {later}"""]

    def path(j: int, k: int) -> str:
        """Column holding t_k of the path that continues from a step-(n-1-j) row, after layer j."""
        return f"n{k}" if k == n - j else f"p{j}_{k}"

    for j in range(1, n - 1):
        s = n - 1 - j
        cols = ", ".join(f"MIN({path(j - 1, k)}) FILTER (WHERE idx = {s + 1}) OVER w AS p{j}_{k}"
                         for k in range(s + 2, n + 1))
        layers.append(f"SELECT l.*, {cols} FROM layer{j - 1} l WINDOW w AS {later}")
    last = n - 2  # after it, step-1 rows hold their whole path: t_k in path(last, k) for k = 2..n
    t = {1: "l.ts", **{k: f"l.{path(last, k)}" for k in range(2, n + 1)}}
    # Path times increase, so those within the window are a prefix of the path (NULL: no such event).
    level = "1 + " + " + ".join(f"COALESCE(({t[k]} <= l.ts + %s)::int, 0)" for k in range(2, n + 1))
    # The starts come ordered by person: DISTINCT ON only sorts each person's few starts (incremental sort), and
    # keeps the attempt that gets furthest, the earliest on ties.
    best = """SELECT DISTINCT ON (pid) * FROM starts ORDER BY pid, level DESC, ts"""
    if bd:
        value = f"""COALESCE(CASE WHEN b.pid < 0 THEN b.bd ELSE (
            SELECT MIN(e.payload->'properties'->>%s) FROM {links} l
              JOIN {raw} e ON e.id = l.event_id AND e.received_at = l.received_at
             WHERE l.profile_id = b.pid AND l.timestamp = b.ts AND l.event_name = %s) END,
            '(none)')"""
    else:
        value = "NULL::text"
    counts = ", ".join(f"COUNT(*) FILTER (WHERE level >= {k}) AS reached_{k}" for k in range(1, n + 1))
    medians = ", ".join(f"percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', t{k} - t{k - 1}))"
                        f" FILTER (WHERE level >= {k}) AS median_{k}" for k in range(2, n + 1))
    chain = ",\n        ".join(f"layer{j} AS ({sql})" for j, sql in enumerate(layers))
    sql = f"""
        WITH steps(idx, name) AS MATERIALIZED (VALUES {", ".join(f"({i + 1}, %s)" for i in range(n))}),
        ev AS (SELECT l.profile_id AS pid, l.timestamp AS ts, s.idx,
                      NULL::text AS bd
                 FROM {links} l JOIN steps s ON s.name = l.event_name
                WHERE l.event_name = ANY(%s) AND l.timestamp >= %s AND l.timestamp < %s
               UNION ALL
               SELECT -DENSE_RANK() OVER (ORDER BY COALESCE('a:' || e.anonymous_id, 'u:' || e.user_id) COLLATE "C"),
                      e.timestamp, s.idx,
                      {"CASE WHEN s.idx = 1 THEN e.payload->'properties'->>%s END" if bd else "NULL::text"}
                 FROM {batches} b JOIN {raw} e ON e.source_id = b.source_id AND e.received_at = b.received_at
                                               AND e.batch_id = b.id
                 JOIN steps s ON s.name = e.event
                WHERE b.processed_at IS NULL AND e.type = 'track' AND e.timestamp >= %s AND e.timestamp < %s
                  AND (e.anonymous_id IS NOT NULL OR e.user_id IS NOT NULL)
                  AND NOT EXISTS (SELECT 1 FROM {links} x WHERE x.event_id = e.id AND x.received_at = e.received_at)),
        {chain},
        starts AS (SELECT l.pid, l.ts, l.bd1 AS bd, {level} AS level, l.ts AS t1, {", ".join(
                       f"{t[k]} AS t{k}" for k in range(2, n + 1))}
                     FROM layer{last} l WHERE l.idx = 1 AND l.ts >= %s AND l.ts < %s),
        best AS ({best})
        SELECT {value} AS breakdown, {counts}, {medians}
          FROM best b GROUP BY 1
    """
    params: list = [*query.steps, list(query.steps), start, end + window, *([bd] if bd else []), start, end + window,
                    *[window] * (n - 1), start, end, *([bd, query.steps[0]] if bd else [])]
    return sql, params


def funnel(query: FunnelQuery) -> pd.DataFrame:
    """One row per (breakdown value, step): persons, conversion from step 1 and from the previous step, median
    seconds from the previous step. Without a breakdown the value is "(all)"; breakdown values are the
    ``MAX_BREAKDOWN_VALUES`` with the most persons at step 1."""
    if not MIN_STEPS <= len(query.steps) <= MAX_STEPS:
        raise ValueError(f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps.")
    n = len(query.steps)
    with transaction.atomic(), connection.cursor() as cursor:
        # The query's many expressions would make JIT compile for seconds (measured: 13 s of a 33 s run) to save
        # far less. Millions of step events are sorted once per person and time: in memory (work_mem).
        cursor.execute("SET LOCAL jit = off")
        wide = frame(*_sql(query), work_mem="512MB")
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
