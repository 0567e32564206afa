"""The home dashboard of each role: a few numbers, each linking to the full report behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from reports import access
from reports.selectors.dashboard import marketing_kpis, sales_kpis
from reports.selectors.support import support_kpis


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: str
    href: str
    change: float | None = None  # relative change against the previous period


@dataclass
class Panel:
    key: str
    title: str
    kpis: list[Kpi] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def sales_panel(user: AbstractBaseUser) -> Panel:
    k = sales_kpis(user=user)
    today = timezone.localdate()
    report = reverse("reports:report", args=["sales"])
    month = f"{report}?{urlencode({'start': today.replace(day=1).isoformat(), 'end': today.isoformat()})}"
    return Panel("sales", "Sales", [
        Kpi("open_weighted", f"Open pipeline, weighted ({k['open_deals']} deals)",
            _money(k["open_weighted"], k["currency"]), report + "#section-pipeline"),
        Kpi("won_month", f"Won this month ({k['won_month']} deals)", _money(k["won_month_amount"], k["currency"]),
            month + "#section-won_lost", k["won_change"]),
        Kpi("closing_month", "Deals expected to close this month", f"{k['closing_month']:,}",
            reverse("deal-list") if _has("deal-list") else report),
        Kpi("win_rate_90", "Win rate, last 90 days", _pct(k["win_rate_90"]), report + "#section-leaderboard"),
        Kpi("activities_week", "Activities this week", f"{k['activities_week']:,}", report + "#section-activities"),
    ], links=[("Sales report", report), ("Attribution", reverse("reports:report", args=["attribution"]))])


def marketing_panel(user: AbstractBaseUser) -> Panel:
    k = marketing_kpis()
    report = reverse("reports:report", args=["marketing"])
    today = timezone.localdate()
    week = f"{report}?{urlencode({'start': (today - timedelta(days=6)).isoformat(), 'end': today.isoformat()})}"
    top = k["top_event_yesterday"]
    return Panel("marketing", "Marketing", [
        Kpi("events_yesterday", "Events yesterday", f"{k['events_yesterday']:,}", week + "#section-events_per_source",
            k["events_change"]),
        Kpi("events_today", "Events today so far", f"{k['events_today']:,}", week + "#section-events_per_source"),
        Kpi("identified_share_7d", "Identified traffic, last 7 days", _pct(k["identified_share_7d"]),
            week + "#section-identified"),
        Kpi("new_profiles_7d", "New profiles, last 7 days", f"{k['new_profiles_7d']:,}",
            week + "#section-new_profiles", k["new_profiles_change"]),
        Kpi("top_event", "Top event yesterday", f"{top[0]} ({top[1]:,})" if top else "–",
            week + "#section-top_events"),
    ], links=[("Marketing report", report), ("Funnels", reverse("reports:report", args=["funnel"])),
              ("Attribution", reverse("reports:report", args=["attribution"]))])


def _has(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} h"


def support_panel(user: AbstractBaseUser) -> Panel:
    k = support_kpis(user=user)
    report = reverse("reports:report", args=["support"])
    today = timezone.localdate()
    week = f"{report}?{urlencode({'start': (today - timedelta(days=6)).isoformat(), 'end': today.isoformat()})}"
    sla, csat = k["sla_compliance_pct"], k["csat_avg"]
    return Panel("support", "Support", [
        Kpi("backlog", "Open tickets", f"{k['backlog']:,}", week + "#section-backlog"),
        Kpi("created_solved", "Created / solved, last 7 days", f"{k['created']:,} / {k['solved']:,}",
            week + "#section-created_solved"),
        Kpi("first_response", "Median first response, last 7 days", _hours(k["median_first_response_h"]),
            week + "#section-summary"),
        Kpi("resolution", "Median resolution, last 7 days", _hours(k["median_resolution_h"]),
            week + "#section-summary"),
        Kpi("sla", "SLA compliance, last 7 days", "–" if sla is None else f"{sla:.1f}%", week + "#section-summary"),
        Kpi("csat", f"CSAT, last 7 days ({k['csat_count']} ratings)", "–" if csat is None else f"{csat:.2f} / 5",
            week + "#section-summary"),
    ], links=[("Support report", report)] + [(label, reverse(name)) for label, name in (
        ("Support desk", "support-index"), ("Support metrics", "support-metrics")) if _has(name)])


def dashboard_panels(user: AbstractBaseUser) -> list[Panel]:
    """The panels of ``user``'s roles (admins get every panel)."""
    panels = []
    if access.can_view_sales(user):
        panels.append(sales_panel(user))
    if access.can_view_marketing(user):
        panels.append(marketing_panel(user))
    if access.is_support(user):
        panels.append(support_panel(user))
    return panels
