"""Marketing reports: event volume per source and day, identified share, new profiles, top events and pages.

Event counts come from the hourly roll-ups (reports.models, rebuilt every few minutes from the events table),
cut into days in the site's time zone; new profiles from the profiles table; segment sizes from segments'
membership intervals. CDP data is not owner-scoped: the
report is for Marketing and admins (reports.access).
"""

from __future__ import annotations

import pandas as pd

from cdp.models import Profile, Source
from reports.filters import ReportFilters
from reports.models import EventHourly, PageHourly
from reports.sections import day_index, ratio
from reports.sql import bind, compiled, frame
from segments.selectors.sizes import membership_intervals

TOP = 20
MAX_SEGMENTS = 12


def _period(filters: ReportFilters) -> dict:
    return {"start_at": filters.start_at, "end_before": filters.end_before, "tz": filters.tz}


def event_volume(*, filters: ReportFilters) -> pd.DataFrame:
    """Long frame: day, source, events, identified (events with a userId), every day of the period present."""
    sql = f"""
        SELECT (h.hour AT TIME ZONE :tz)::date AS day, COALESCE(s.name, '(deleted source)') AS source,
               SUM(h.events) AS events, SUM(h.identified) AS identified
          FROM {EventHourly._meta.db_table} h LEFT JOIN {Source._meta.db_table} s ON s.id = h.source_id
         WHERE h.hour >= :start_at AND h.hour < :end_before
         GROUP BY 1, 2
    """
    df = frame(*bind(sql, [], _period(filters)))
    df["day"] = pd.to_datetime(df["day"])
    df[["events", "identified"]] = df[["events", "identified"]].astype("int64")
    return df


def events_per_source_per_day(volume: pd.DataFrame, filters: ReportFilters) -> pd.DataFrame:
    table = (volume.pivot_table(index="day", columns="source", values="events", aggfunc="sum", fill_value=0)
             .reindex(day_index(filters.start, filters.end), fill_value=0).astype("int64"))
    table["Total"] = table.sum(axis=1)
    table.columns.name = None
    return table.rename_axis("day").reset_index()


def identified_share_per_day(volume: pd.DataFrame, filters: ReportFilters) -> pd.DataFrame:
    days = (volume.groupby("day")[["events", "identified"]].sum()
            .reindex(day_index(filters.start, filters.end), fill_value=0).rename_axis("day").reset_index())
    days["identified_share"] = ratio(days["identified"], days["events"])
    return days


def new_profiles_per_day(*, filters: ReportFilters) -> pd.DataFrame:
    """Profiles created per day that are still people of their own (not merged into another)."""
    sql = f"""
        SELECT (created_at AT TIME ZONE :tz)::date AS day, COUNT(*) AS profiles
          FROM {Profile._meta.db_table}
         WHERE created_at >= :start_at AND created_at < :end_before AND merged_into_id IS NULL
         GROUP BY 1
    """
    df = frame(*bind(sql, [], _period(filters)))
    df["day"] = pd.to_datetime(df["day"])
    return (df.set_index("day").reindex(day_index(filters.start, filters.end), fill_value=0)
            .astype("int64").rename_axis("day").reset_index())


def top_events(*, filters: ReportFilters) -> pd.DataFrame:
    """The most frequent track events of the period, with their share of all track events."""
    sql = f"""
        SELECT event, SUM(events) AS events, SUM(SUM(events)) OVER () AS total
          FROM {EventHourly._meta.db_table}
         WHERE type = 'track' AND hour >= :start_at AND hour < :end_before
         GROUP BY event ORDER BY 2 DESC, 1 LIMIT {TOP}
    """
    df = frame(*bind(sql, [], _period(filters)))
    df["events"] = df["events"].astype("int64")
    df["share"] = ratio(df["events"], df["total"])
    return df.drop(columns=["total"])


def top_pages(*, filters: ReportFilters) -> pd.DataFrame:
    """The most viewed page paths of the period, with their share of all page views."""
    sql = f"""
        SELECT path, SUM(views) AS views, SUM(SUM(views)) OVER () AS total
          FROM {PageHourly._meta.db_table}
         WHERE hour >= :start_at AND hour < :end_before
         GROUP BY path ORDER BY 2 DESC, 1 LIMIT {TOP}
    """
    df = frame(*bind(sql, [], _period(filters)))
    df["views"] = df["views"].astype("int64")
    df["share"] = ratio(df["views"], df["total"])
    return df.drop(columns=["total"])


def segment_sizes_per_day(*, filters: ReportFilters) -> pd.DataFrame:
    """Wide frame: one row per day of the period, one column per segment (the ``MAX_SEGMENTS`` largest at the end
    of the period), each cell the segment's size at the end of that day (site time zone). One query adds up, per
    segment and day, who entered (+1) and who left (-1), with everything before the period on one row; pandas
    accumulates it. Empty (only the day column) when no segment ever had a member."""
    sql = """
        SELECT segment_name, day, SUM(delta) AS delta FROM (
            SELECT m.segment_id, m.segment_name, CASE WHEN m.entered_at >= :start_at
                   THEN (m.entered_at AT TIME ZONE :tz)::date END AS day, 1 AS delta
              FROM {sub0} m
            UNION ALL
            SELECT m.segment_id, m.segment_name, CASE WHEN m.exited_at >= :start_at
                   THEN (m.exited_at AT TIME ZONE :tz)::date END, -1
              FROM {sub0} m WHERE m.exited_at < :end_before
        ) AS x GROUP BY segment_id, segment_name, day
    """
    df = frame(*bind(sql, [compiled(membership_intervals(before=filters.end_before))], _period(filters)))
    days = day_index(filters.start, filters.end)
    if df.empty:
        return pd.DataFrame({"day": days})
    # Changes before the period land on its first day: the size at its end includes them.
    df["day"] = pd.to_datetime(df["day"]).fillna(days[0])
    df["delta"] = df["delta"].astype("int64")
    table = (df.pivot_table(index="day", columns="segment_name", values="delta", aggfunc="sum", fill_value=0)
             .reindex(days, fill_value=0).cumsum().astype("int64"))
    largest = table.iloc[-1].sort_values(ascending=False, kind="stable").index[:MAX_SEGMENTS]
    table = table[sorted(largest)]
    table.columns.name = None
    return table.rename_axis("day").reset_index()
