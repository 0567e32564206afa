"""Support metrics for a date range: created vs solved per day, backlog over time, median first response and
resolution, SLA compliance, CSAT — overall, per agent and per queue. One query loads the tickets of the range
(scoped by the viewer's visibility); pandas does the resampling, medians and pivots. The backlog adds one count of
tickets still open from before the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from crm.models import TicketQueue
from crm.selectors.tickets import tickets_visible_to

COLUMNS = ["id", "created_at", "solved_at", "first_response_at", "first_response_breached_at",
           "resolution_breached_at", "sla_policy_id", "csat_rating", "assignee_id", "queue_id"]


@dataclass
class Metrics:
    start: date
    end: date
    daily: pd.DataFrame  # day, created, solved, backlog
    summary: dict
    per_agent: pd.DataFrame
    per_queue: pd.DataFrame


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(str(timezone.get_current_timezone()))
    return datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)


def _hours(series: pd.Series) -> float | None:
    value = series.dropna().median() if len(series.dropna()) else None
    return None if value is None or pd.isna(value) else round(value.total_seconds() / 3600, 1)


def _group_stats(frame: pd.DataFrame, key: str, solved_mask: pd.Series, created_mask: pd.Series) -> pd.DataFrame:
    created = frame[created_mask].groupby(key).size().rename("created")
    solved = frame[solved_mask]
    grouped = solved.groupby(key)
    stats = pd.DataFrame({
        "solved": grouped.size(),
        "median_resolution_h": grouped["resolution"].median().dt.total_seconds() / 3600,
        "sla_compliance_pct": grouped.apply(
            lambda g: 100 * (1 - g.loc[g["has_sla"], "breached"].mean()) if g["has_sla"].any() else float("nan"),
            include_groups=False),
        "csat_avg": grouped["csat_rating"].mean(),
    })
    first = frame[created_mask].groupby(key)["first_response"].median().dt.total_seconds() / 3600
    return pd.concat([created, stats, first.rename("median_first_response_h")], axis=1).fillna(
        {"created": 0, "solved": 0}).round(1)


def ticket_metrics(*, user: AbstractBaseUser, start: date, end: date) -> Metrics:
    """Metrics of tickets created or solved from ``start`` to ``end`` (inclusive days, current timezone)."""
    lo, hi = _bounds(start, end)
    visible = tickets_visible_to(user)
    rows = visible.filter(Q(created_at__gte=lo, created_at__lt=hi) | Q(solved_at__gte=lo, solved_at__lt=hi)) \
        .order_by().values_list(*COLUMNS)
    frame = pd.DataFrame.from_records(list(rows), columns=COLUMNS)
    for column in ("created_at", "solved_at", "first_response_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(lo.tzinfo)
    frame["breached"] = frame["first_response_breached_at"].notna() | frame["resolution_breached_at"].notna()
    frame["has_sla"] = frame["sla_policy_id"].notna()
    frame["first_response"] = frame["first_response_at"] - frame["created_at"]
    frame["resolution"] = frame["solved_at"] - frame["created_at"]
    frame["csat_rating"] = pd.to_numeric(frame["csat_rating"], errors="coerce")
    created_mask = (frame["created_at"] >= lo) & (frame["created_at"] < hi)
    solved_mask = frame["solved_at"].notna() & (frame["solved_at"] >= lo) & (frame["solved_at"] < hi)

    days = pd.date_range(lo, hi - timedelta(days=1), freq="D", tz=lo.tzinfo)
    created = frame.loc[created_mask, "created_at"].dt.floor("D").value_counts().reindex(days, fill_value=0)
    solved = frame.loc[solved_mask, "solved_at"].dt.floor("D").value_counts().reindex(days, fill_value=0)
    # Open at the start: created before the range and not solved before it (still open, or solved later).
    carried = visible.filter(created_at__lt=lo).filter(Q(solved_at__isnull=True, closed_at__isnull=True)
                                                        | Q(solved_at__gte=lo)).count()
    daily = pd.DataFrame({"day": days.date, "created": created.to_numpy(), "solved": solved.to_numpy()})
    daily["backlog"] = carried + (daily["created"] - daily["solved"]).cumsum()

    solved_frame = frame[solved_mask]
    with_sla = solved_frame[solved_frame["has_sla"]]
    summary = {
        "created": int(created_mask.sum()), "solved": int(solved_mask.sum()),
        "median_first_response_h": _hours(frame.loc[created_mask, "first_response"]),
        "median_resolution_h": _hours(solved_frame["resolution"]),
        "sla_compliance_pct": round(100 * (1 - with_sla["breached"].mean()), 1) if len(with_sla) else None,
        "csat_avg": round(float(solved_frame["csat_rating"].mean()), 2) if solved_frame["csat_rating"].notna().any()
        else None,
        "csat_count": int(solved_frame["csat_rating"].notna().sum()),
    }
    per_agent = _group_stats(frame.assign(assignee_id=frame["assignee_id"].fillna(0).astype(int)), "assignee_id",
                             solved_mask, created_mask)
    names = {u.pk: u.get_full_name() or u.get_username()
             for u in get_user_model().objects.filter(pk__in=[i for i in per_agent.index if i])}
    per_agent.index = [names.get(i, "Unassigned") for i in per_agent.index]
    per_queue = _group_stats(frame.assign(queue_id=frame["queue_id"].fillna(0).astype(int)), "queue_id",
                             solved_mask, created_mask)
    queue_names = dict(TicketQueue.objects.filter(pk__in=[i for i in per_queue.index if i])
                       .values_list("pk", "name"))
    per_queue.index = [queue_names.get(i, "No queue") for i in per_queue.index]
    return Metrics(start=start, end=end, daily=daily, summary=summary, per_agent=per_agent, per_queue=per_queue)
