"""The reports of the product: each a list of sections built from its selectors. Pages, CSV/Excel exports
and the JSON API all read reports through ``REPORTS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from reports import access
from reports.filters import ReportFilters
from reports.sections import ChartSpec, Section
from reports.selectors import sales


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    can_view: Callable[[AbstractBaseUser], bool]
    build: Callable[[AbstractBaseUser, ReportFilters], list[Section]]
    filters: tuple[str, ...] = ("start", "end", "pipeline", "owner", "team", "currency")


def sales_sections(user: AbstractBaseUser, filters: ReportFilters) -> list[Section]:
    cur = filters.currency
    return [
        Section("pipeline", "Pipeline by stage", sales.pipeline_by_stage(user=user, filters=filters),
                labels={"deals": "Deals", "amount": f"Amount ({cur})", "weighted": f"Weighted ({cur})"},
                chart=ChartSpec("bar", "stage", ("amount", "weighted"), x_label="Stage", y_label=cur),
                note="Open stages: open deals expected to close in the period (or undated). Won and lost "
                     "stages: deals closed in the period."),
        Section("won_lost", "Won and lost per month", sales.won_lost_by_month(user=user, filters=filters),
                labels={"won_amount": f"Won amount ({cur})", "lost_amount": f"Lost amount ({cur})",
                        "win_rate": "Win rate"},
                chart=ChartSpec("bar", "month", ("won", "lost"), x_label="Month", y_label="Deals")),
        Section("deal_size", "Average deal size and sales cycle",
                sales.deal_size_and_cycle(user=user, filters=filters),
                labels={"won": "Deals won", "avg_amount": f"Average ({cur})", "median_amount": f"Median ({cur})",
                        "avg_cycle_days": "Average cycle (days)", "median_cycle_days": "Median cycle (days)"},
                note="Deals won in the period; the cycle runs from the deal's creation to its close."),
        Section("stage_conversion", "Stage conversion and time per stage",
                sales.stage_conversion(user=user, filters=filters),
                labels={"reached": "Deals reached", "to_next": "Reached next stage",
                        "avg_days": "Average days in stage", "median_days": "Median days in stage"},
                chart=ChartSpec("bar", "stage", ("reached",), x_label="Stage", y_label="Deals"),
                note="Deals of the pipeline created in the period, from their stage history."),
        Section("activities", "Activities per rep per week",
                sales.activities_per_rep_week(user=user, filters=filters), labels={"week": "Week of"},
                chart=ChartSpec("line", "week", ("Total",), x_label="Week", y_label="Activities")),
        Section("leaderboard", "Leaderboard", sales.leaderboard(user=user, filters=filters),
                labels={"won_amount": f"Won ({cur})", "win_rate": "Win rate",
                        "open_weighted": f"Open weighted ({cur})"},
                chart=ChartSpec("bar", "rep", ("won_amount",), x_label="Rep", y_label=cur)),
        Section("forecast", "Forecast vs actual per month", sales.forecast_vs_actual(user=user, filters=filters),
                labels={"forecast": f"Forecast ({cur})", "actual": f"Won ({cur})",
                        "difference": f"Won − forecast ({cur})"},
                chart=ChartSpec("bar", "month", ("forecast", "actual"), x_label="Month", y_label=cur),
                note="Forecast: amount × probability of deals expected to close in the month, at their stored "
                     "probability. Won: amount of deals won in the month."),
    ]


REPORTS: dict[str, Report] = {
    "sales": Report("sales", "Sales", access.can_view_sales, sales_sections),
}
