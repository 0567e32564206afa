"""Support metrics on the reporting package: read through the support desk's own selector
(``crm.selectors.tickets_metrics.ticket_metrics``, scoped by the viewer's ticket visibility, one query shaped with
pandas) and turned into report tables and the support dashboard's numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from crm.selectors.tickets_metrics import Metrics, ticket_metrics
from reports.filters import ReportFilters

SUMMARY_COLUMNS = ["created", "solved", "median_first_response_h", "median_resolution_h", "sla_compliance_pct",
                   "csat_avg", "csat_count"]
GROUP_COLUMNS = ["created", "solved", "median_first_response_h", "median_resolution_h", "sla_compliance_pct",
                 "csat_avg"]


def support_metrics(*, user: AbstractBaseUser, filters: ReportFilters) -> Metrics:
    """Tickets created or solved in the period that ``user`` may see, as the support desk computes them."""
    return ticket_metrics(user=user, start=filters.start, end=filters.end)


def summary(metrics: Metrics) -> pd.DataFrame:
    """One row: created, solved, median first response and resolution (hours), SLA compliance (%), CSAT."""
    return pd.DataFrame([{c: metrics.summary.get(c) for c in SUMMARY_COLUMNS}])


def daily(metrics: Metrics) -> pd.DataFrame:
    """Per day of the period: created, solved, and the backlog (open tickets) at the end of the day."""
    df = metrics.daily.copy()
    df["day"] = pd.to_datetime(df["day"])
    df[["created", "solved", "backlog"]] = df[["created", "solved", "backlog"]].astype("int64")
    return df[["day", "created", "solved", "backlog"]]


def per_group(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per agent or per queue (the selector's index) as a frame with a ``name`` column first."""
    df = table.reindex(columns=GROUP_COLUMNS).rename_axis(name).reset_index()
    df[["created", "solved"]] = df[["created", "solved"]].fillna(0).astype("int64")
    for column in GROUP_COLUMNS[2:]:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype(float)
    return df.sort_values(["solved", "created", name], ascending=[False, False, True], ignore_index=True)


def support_kpis(*, user: AbstractBaseUser, today: date | None = None) -> dict:
    """The support desk's morning numbers over the last 7 days (today included) of the tickets ``user`` may see:
    open tickets now, created and solved, median first response and resolution (hours), SLA compliance (%),
    CSAT average and count."""
    today = today or timezone.localdate()
    metrics = ticket_metrics(user=user, start=today - timedelta(days=6), end=today)
    backlog = metrics.daily["backlog"]
    return {"backlog": int(backlog.iloc[-1]) if len(backlog) else 0,
            **{c: metrics.summary.get(c) for c in SUMMARY_COLUMNS}}
