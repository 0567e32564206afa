"""Support metrics for a date range: created vs solved per day, backlog over time, median first response and
resolution, SLA compliance, CSAT — overall, per agent and per queue. One query loads the tickets of the range
(scoped by the viewer's visibility), read into pandas as one CSV text, which does the resampling, medians and pivots.
The backlog adds one count query (open now, created and solved after the range) and is walked back day by day."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, Count, F, Func, Q, QuerySet
from django.utils import timezone

from crm.models import Ticket, TicketQueue
from crm.selectors.tickets import tickets_visible_to

TIMES = ["created_at", "solved_at", "first_response_at"]
COLUMNS = ["created_at", "solved_at", "first_response_at", "breached", "has_sla", "csat_rating", "assignee_id",
           "queue_id"]


class Epoch(Func):
    """Whole seconds since 1970: short to send, exact enough for support metrics."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::bigint"
    output_field = BigIntegerField()


def _sql_frame(queryset: QuerySet, columns: list[str]) -> pd.DataFrame:
    """Run the queryset's SELECT and read its rows with pandas. Postgres joins the rows into one CSV text
    (string_agg), so one query returns one value, with no Python object per row."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # a viewer who may see no ticket at all (an agent in no team)
        return pd.DataFrame(columns=columns)
    cells = ", ".join(f"coalesce(q.{connection.ops.quote_name(c)}::text, '')" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT string_agg(concat_ws(',', {cells}), E'\\n') FROM ({sql}) q", params)
        text = cursor.fetchone()[0] or ""
    return pd.read_csv(io.StringIO(text), names=columns, header=None, true_values=["true"], false_values=["false"])


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
        # Over the group's tickets with an SLA (missing where it has none); no apply: it fails on no rows.
        "sla_compliance_pct": 100 * (1 - solved[solved["has_sla"]].groupby(key)["breached"].mean()),
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
        .order_by().annotate(
            e_created=Epoch(F("created_at")), e_solved=Epoch(F("solved_at")), e_first=Epoch(F("first_response_at")),
            breached=Q(first_response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False),
            has_sla=Q(sla_policy__isnull=False),
        ).values("e_created", "e_solved", "e_first", "breached", "has_sla", "csat_rating", "assignee_id", "queue_id")
    frame = _sql_frame(rows, ["e_created", "e_solved", "e_first", "breached", "has_sla", "csat_rating",
                              "assignee_id", "queue_id"])
    frame = frame.rename(columns={"e_created": "created_at", "e_solved": "solved_at", "e_first": "first_response_at"})
    if frame.empty:
        frame = pd.DataFrame(columns=COLUMNS)
    for column in TIMES:
        frame[column] = pd.to_datetime(pd.to_numeric(frame[column]), unit="s", utc=True).dt.tz_convert(lo.tzinfo)
    frame["breached"] = frame["breached"].astype(bool)
    frame["has_sla"] = frame["has_sla"].astype(bool)
    frame["first_response"] = frame["first_response_at"] - frame["created_at"]
    frame["resolution"] = frame["solved_at"] - frame["created_at"]
    frame["csat_rating"] = pd.to_numeric(frame["csat_rating"], errors="coerce")
    created_mask = (frame["created_at"] >= lo) & (frame["created_at"] < hi)
    solved_mask = frame["solved_at"].notna() & (frame["solved_at"] >= lo) & (frame["solved_at"] < hi)

    days = pd.date_range(lo, hi - timedelta(days=1), freq="D", tz=lo.tzinfo)
    created = frame.loc[created_mask, "created_at"].dt.floor("D").value_counts().reindex(days, fill_value=0)
    solved = frame.loc[solved_mask, "solved_at"].dt.floor("D").value_counts().reindex(days, fill_value=0)
    # The backlog at the end of the range is what is open now, plus what was solved since, minus what was created
    # since; walking back, each day's end is the next day's end minus its created plus its solved. (Closing needs
    # solving first, so solved_at covers closed tickets.)
    later = visible.filter(Q(status__in=list(Ticket.OPEN_STATUSES)) | Q(created_at__gte=hi) | Q(solved_at__gte=hi)) \
        .aggregate(open=Count("pk", filter=Q(status__in=list(Ticket.OPEN_STATUSES))),
                   created=Count("pk", filter=Q(created_at__gte=hi)), solved=Count("pk", filter=Q(solved_at__gte=hi)))
    end_backlog = later["open"] + later["solved"] - later["created"]
    daily = pd.DataFrame({"day": days.date, "created": created.to_numpy(), "solved": solved.to_numpy()})
    net = (daily["created"] - daily["solved"])[::-1].cumsum()[::-1].shift(-1, fill_value=0)
    daily["backlog"] = end_backlog - net

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
