"""The few numbers each role checks every morning: one query per role's panel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from cdp.models import Profile
from reports.filters import ReportFilters
from reports.models import EventHourly
from reports.sql import bind, frame, visible_activities, visible_deals


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def sales_kpis(*, user: AbstractBaseUser, today: date | None = None, currency: str = "EUR") -> dict:
    """Open pipeline (count, weighted), won this month and last month (count, amount) with the change, deals
    expected to close this month, win rate of the last 90 days, and activities this week — all over what
    ``user`` may see, in ``currency``."""
    today = today or timezone.localdate()
    month, last_month, next_month = _month_start(today), _month_start(today, 1), _month_start(today, -1)
    week = today - timedelta(days=today.weekday())
    filters = ReportFilters(start=week, end=today, currency=currency)
    sql = """
        SELECT COUNT(*) FILTER (WHERE d.status = 'open') AS open_deals,
               COALESCE(SUM(d.amount * d.probability / 100.0) FILTER (WHERE d.status = 'open'), 0) AS open_weighted,
               COUNT(*) FILTER (WHERE d.status = 'won' AND d.closed_at >= :month) AS won_month,
               COALESCE(SUM(d.amount) FILTER (WHERE d.status = 'won' AND d.closed_at >= :month), 0)
                   AS won_month_amount,
               COALESCE(SUM(d.amount) FILTER (WHERE d.status = 'won' AND d.closed_at >= :last_month
                                              AND d.closed_at < :month), 0) AS won_last_month_amount,
               COUNT(*) FILTER (WHERE d.status = 'open' AND d.expected_close_date >= :month_day
                                AND d.expected_close_date < :next_month_day) AS closing_month,
               COUNT(*) FILTER (WHERE d.status = 'won' AND d.closed_at >= :since_90) AS won_90,
               COUNT(*) FILTER (WHERE d.status = 'lost' AND d.closed_at >= :since_90) AS lost_90,
               (SELECT COUNT(*) FROM {sub1} a) AS activities_week
          FROM {sub0} d
    """
    named = {"month": _at(month), "last_month": _at(last_month), "month_day": month, "next_month_day": next_month,
             "since_90": _at(today - timedelta(days=90))}
    row = frame(*bind(sql, [visible_deals(user, filters), visible_activities(user, filters)], named)).iloc[0]
    won_90, lost_90 = int(row["won_90"]), int(row["lost_90"])
    this, last = float(row["won_month_amount"]), float(row["won_last_month_amount"])
    return {
        "currency": currency, "open_deals": int(row["open_deals"]), "open_weighted": round(float(
            row["open_weighted"]), 2), "won_month": int(row["won_month"]), "won_month_amount": round(this, 2),
        "won_last_month_amount": round(last, 2), "won_change": _change(this, last),
        "closing_month": int(row["closing_month"]),
        "win_rate_90": round(won_90 / (won_90 + lost_90), 4) if won_90 + lost_90 else None,
        "activities_week": int(row["activities_week"]),
    }


def _change(now: float, before: float) -> float | None:
    """Relative change now vs before (None when there is nothing to compare with)."""
    return round((now - before) / before, 4) if before else None


def marketing_kpis(*, today: date | None = None) -> dict:
    """Events yesterday and the day before (with the change), identified share and new profiles over the last 7
    days vs the 7 before, and yesterday's top event — from the hourly roll-ups and the profiles table."""
    today = today or timezone.localdate()
    yesterday = today - timedelta(days=1)
    sql = f"""
        WITH days AS (
            SELECT (h.hour AT TIME ZONE :tz)::date AS day, h.type, h.event, SUM(h.events) AS events,
                   SUM(h.identified) AS identified
              FROM {EventHourly._meta.db_table} h WHERE h.hour >= :since AND h.hour < :until GROUP BY 1, 2, 3),
        profiles AS (
            SELECT (created_at AT TIME ZONE :tz)::date AS day, COUNT(*) AS n FROM {Profile._meta.db_table}
             WHERE created_at >= :since AND created_at < :until AND merged_into_id IS NULL GROUP BY 1)
        SELECT 'events' AS kind, day, type, event, events AS n, identified FROM days
        UNION ALL SELECT 'profiles', day, NULL, NULL, n, 0 FROM profiles
    """
    df = frame(*bind(sql, [], {"tz": timezone.get_current_timezone_name(), "since": _at(today - timedelta(days=14)),
                                 "until": _at(today + timedelta(days=1))}))
    df["day"] = pd.to_datetime(df["day"]).dt.date
    events, profiles = df[df["kind"] == "events"], df[df["kind"] == "profiles"]
    per_day = events.groupby("day")[["n", "identified"]].sum()
    last7 = per_day[per_day.index > today - timedelta(days=7)].sum()
    prev7 = per_day[(per_day.index <= today - timedelta(days=7)) & (per_day.index > today - timedelta(days=14))].sum()
    day_n = per_day["n"].to_dict()
    new_profiles = profiles.set_index("day")["n"]
    new7 = int(new_profiles[new_profiles.index > today - timedelta(days=7)].sum())
    new_prev7 = int(new_profiles[new_profiles.index <= today - timedelta(days=7)].sum())
    tracks = events[(events["day"] == yesterday) & (events["type"] == "track")].groupby("event")["n"].sum()
    top = tracks.sort_values(ascending=False).head(1)
    yesterday_n, before_n = int(day_n.get(yesterday, 0)), int(day_n.get(yesterday - timedelta(days=1), 0))
    return {
        "events_today": int(day_n.get(today, 0)), "events_yesterday": yesterday_n,
        "events_change": _change(yesterday_n, before_n),
        "identified_share_7d": round(float(last7["identified"]) / float(last7["n"]), 4) if last7["n"] else None,
        "identified_share_prev_7d": round(float(prev7["identified"]) / float(prev7["n"]), 4) if prev7["n"] else None,
        "new_profiles_7d": new7, "new_profiles_change": _change(new7, new_prev7),
        "top_event_yesterday": (str(top.index[0]), int(top.iloc[0])) if len(top) else None,
    }
