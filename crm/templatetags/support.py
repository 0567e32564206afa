"""Template helpers of the support pages: SLA clocks and dict lookups."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


@register.simple_tag
def sla_clock(due: datetime | None, now: datetime) -> dict:
    """{"text": "2h 5m left" / "overdue 40m", "css": "ok" | "soon" | "overdue"} for a due time."""
    if due is None:
        return {"text": "—", "css": ""}
    left = (due - now).total_seconds()
    if left < 0:
        return {"text": f"overdue {_span(left)}", "css": "overdue"}
    return {"text": f"{_span(left)} left", "css": "soon" if left < 7200 else "ok"}

