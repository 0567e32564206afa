"""The reports of the product: each a form (its filters) and a list of sections built from its selectors.
Pages, CSV/Excel exports and the JSON API all read reports through ``REPORTS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from reports import access
from reports.filters import ReportFilterForm
from reports.funnel_form import FunnelForm
from reports.sections import ChartSpec, Section
from reports.selectors import attribution, funnel, marketing, sales, support

SALES_FILTERS = ("start", "end", "pipeline", "owner", "team", "currency")


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    can_view: Callable[[AbstractBaseUser], bool]
    build: Callable[[AbstractBaseUser, forms.Form], list[Section]]
    filters: tuple[str, ...] = SALES_FILTERS
    form: type[forms.Form] = ReportFilterForm
    description: str = ""

    def query(self, form) -> dict[str, str]:
        """The query string that reproduces ``form`` (valid) for links, exports and the API."""
        if hasattr(form, "as_query"):
            return form.as_query()
        return {k: v for k, v in form.filters().as_query().items()
                if k in self.filters or (k == "currency" and "currency" in self.filters)}


def sales_sections(user: AbstractBaseUser, form: ReportFilterForm) -> list[Section]:
    filters = form.filters()
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


def marketing_sections(user: AbstractBaseUser, form: ReportFilterForm) -> list[Section]:
    filters = form.filters()
    volume = marketing.event_volume(filters=filters)
    per_source = marketing.events_per_source_per_day(volume, filters)
    sections = [
        Section("events_per_source", "Events per source per day", per_source, labels={"day": "Day"},
                chart=ChartSpec("line", "day", tuple(c for c in per_source.columns if c != "day"),
                                x_label="Day", y_label="Events"),
                note="Events by the day they were received; counted from hourly roll-ups refreshed every "
                     "5 minutes."),
        Section("identified", "Share of identified traffic",
                marketing.identified_share_per_day(volume, filters),
                labels={"day": "Day", "identified": "With a user id", "identified_share": "Identified share"},
                chart=ChartSpec("line", "day", ("events", "identified"), x_label="Day", y_label="Events")),
        Section("new_profiles", "New profiles per day", marketing.new_profiles_per_day(filters=filters),
                labels={"day": "Day", "profiles": "New profiles"},
                chart=ChartSpec("bar", "day", ("profiles",), x_label="Day", y_label="Profiles")),
    ]
    sizes = marketing.segment_sizes_per_day(filters=filters)
    if len(sizes.columns) > 1:  # segments exist
        sections.append(Section(
            "segment_sizes", "Segment sizes over time", sizes, labels={"day": "Day"},
            chart=ChartSpec("line", "day", tuple(c for c in sizes.columns if c != "day"), x_label="Day",
                            y_label="Members"),
            note=f"Members at the end of each day, from the segments' membership history (the "
                 f"{marketing.MAX_SEGMENTS} largest segments)."))
    sections += [
        Section("top_events", "Top events", marketing.top_events(filters=filters),
                labels={"event": "Event", "events": "Events", "share": "Share of track events"},
                chart=ChartSpec("bar", "event", ("events",), horizontal=True, x_label="Event")),
        Section("top_pages", "Top pages", marketing.top_pages(filters=filters),
                labels={"path": "Path", "views": "Views", "share": "Share of page views"},
                chart=ChartSpec("bar", "path", ("views",), horizontal=True, x_label="Path")),
    ]
    return sections


def funnel_sections(user: AbstractBaseUser, form: FunnelForm) -> list[Section]:
    query = form.query()
    df = funnel.funnel(query)
    chart_frame = df.groupby("step", as_index=False).agg(name=("name", "first"), reached=("reached", "sum"))
    chart_frame["label"] = chart_frame["step"].astype(str) + ". " + chart_frame["name"]
    return [
        Section("funnel", "Funnel", df, labels={
            "breakdown": f"Breakdown ({query.breakdown})" if query.breakdown else "Breakdown",
            "step": "Step", "name": "Event", "reached": "Persons", "conversion": "Conversion from step 1",
            "from_previous": "From previous step", "median_seconds": "Median seconds from previous step"}),
        Section("funnel_steps", "Persons per step", chart_frame[["label", "reached"]],
                labels={"label": "Step", "reached": "Persons"},
                chart=ChartSpec("bar", "label", ("reached",), x_label="Step", y_label="Persons")),
    ]


def _with_channel(df):
    out = df.copy()
    out.insert(0, "channel", out["utm_source"] + " / " + out["utm_medium"] + " / " + out["utm_campaign"])
    return out


def attribution_sections(user: AbstractBaseUser, form: ReportFilterForm) -> list[Section]:
    filters = form.filters()
    cur = filters.currency
    revenue = attribution.revenue_by_touch(user=user, filters=filters)
    labels = {"channel": "Campaign (source / medium / name)", "utm_source": "utm_source",
              "utm_medium": "utm_medium", "utm_campaign": "utm_campaign", "referrer": "Referrer",
              "month": "Month", "deals": "Deals won", "revenue": f"Revenue ({cur})"}
    sections = []
    for model, title in (("first", "First-touch revenue"), ("last", "Last-touch revenue")):
        sections.append(Section(
            f"{model}_touch", title, _with_channel(attribution.touch_revenue(revenue, model)), labels=labels,
            chart=ChartSpec("bar", "channel", ("revenue",), stacked=True, x_label="Campaign", y_label=cur),
            note=f"Won deals of the period by close month; each deal's amount goes to the campaign of its "
                 f"contacts' {model} web touch before the deal was created."))
    sections.append(Section(
        "leads", "Leads and customers per campaign",
        _with_channel(attribution.leads_and_customers(user=user, filters=filters)),
        labels={**labels, "leads": "Leads", "customers": "Customers", "conversion": "Lead to customer"},
        chart=ChartSpec("bar", "channel", ("leads", "customers"), x_label="Campaign", y_label="Contacts"),
        note="Contacts created in the period, by their first web touch; customers are on a won deal."))
    return sections


SUPPORT_LABELS = {"name": "Name", "created": "Created", "solved": "Solved",
                  "median_first_response_h": "Median first response (hours)",
                  "median_resolution_h": "Median resolution (hours)", "sla_compliance_pct": "SLA compliance (%)",
                  "csat_avg": "CSAT (1-5)", "csat_count": "CSAT ratings", "day": "Day", "backlog": "Open tickets"}


def support_sections(user: AbstractBaseUser, form: ReportFilterForm) -> list[Section]:
    metrics = support.support_metrics(user=user, filters=form.filters())
    daily = support.daily(metrics)
    return [
        Section("summary", "Summary", support.summary(metrics), labels=SUPPORT_LABELS,
                note="Tickets created or solved in the period. First response over tickets created in it; "
                     "resolution, SLA compliance and CSAT over tickets solved in it."),
        Section("created_solved", "Created vs solved per day", daily[["day", "created", "solved"]],
                labels=SUPPORT_LABELS,
                chart=ChartSpec("bar", "day", ("created", "solved"), x_label="Day", y_label="Tickets")),
        Section("backlog", "Backlog per day", daily[["day", "backlog"]], labels=SUPPORT_LABELS,
                chart=ChartSpec("line", "day", ("backlog",), x_label="Day", y_label="Tickets"),
                note="Tickets open at the end of each day."),
        Section("per_agent", "Per agent", support.per_group(metrics.per_agent, "name"),
                labels={**SUPPORT_LABELS, "name": "Agent"},
                chart=ChartSpec("bar", "name", ("created", "solved"), x_label="Agent", y_label="Tickets")),
        Section("per_queue", "Per queue", support.per_group(metrics.per_queue, "name"),
                labels={**SUPPORT_LABELS, "name": "Queue"},
                chart=ChartSpec("bar", "name", ("created", "solved"), x_label="Queue", y_label="Tickets")),
    ]


REPORTS: dict[str, Report] = {
    "sales": Report("sales", "Sales", access.can_view_sales, sales_sections,
                    description="Pipeline, won and lost, deal size, stage conversion, activity, leaderboard, "
                                "forecast."),
    "marketing": Report("marketing", "Marketing", access.can_view_marketing, marketing_sections,
                        filters=("start", "end"),
                        description="Event volume per source, identified traffic, new profiles, segment sizes "
                                    "over time, top events and pages."),
    "attribution": Report("attribution", "Attribution", access.can_view_attribution, attribution_sections,
                          description="Won revenue by first- and last-touch campaign; leads and customers per "
                                      "campaign."),
    "funnel": Report("funnel", "Funnel", access.can_view_marketing, funnel_sections, form=FunnelForm,
                     filters=("start", "end", "step_1", "step_2", "step_3", "step_4", "step_5", "window",
                              "window_unit", "breakdown"),
                     description="Conversion through 2 to 5 ordered events within a window."),
    "support": Report("support", "Support", access.is_support, support_sections, filters=("start", "end"),
                      description="Tickets created and solved, backlog, first response and resolution times, "
                                  "SLA compliance and CSAT, per agent and per queue."),
}
