"""The source volume chart (through the product's one chart helper) and the list's per-source totals."""

from __future__ import annotations

from dataclasses import dataclass

from cdp.selectors.source_pages import HourVolume
from config.charts import Chart, bar_chart


@dataclass(frozen=True)
class VolumeTotals:
    accepted: int
    rejected: int
    hours: int


def volume_totals(series: list[HourVolume]) -> VolumeTotals:
    return VolumeTotals(accepted=sum(v.accepted for v in series), rejected=sum(v.rejected for v in series),
                        hours=len(series))


def volume_chart(series: list[HourVolume]) -> Chart:
    """Accepted and rejected messages per hour (stacked bars, hour axis in UTC, event count axis), with the
    same numbers in a table."""
    rows = [{"hour": v.hour, "accepted": v.accepted, "rejected": v.rejected} for v in series]
    return bar_chart(rows, x="hour", y=["accepted", "rejected"], stacked=True,
                     title=f"Events received per hour, last {len(series)} hours",
                     x_label="Hour (UTC)", y_label="Events",
                     labels={"hour": "Hour (UTC)", "accepted": "Accepted", "rejected": "Rejected"})
