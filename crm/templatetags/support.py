"""Template helpers of the support pages: SLA clocks and dict lookups."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

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



@register.simple_tag
def sla_badge(ticket, now: datetime) -> str:
    """The resolution clock of a queue row: paused, time left / overdue, or a dash (one tag per row, not an
    included template: the queue pages render 50 of them)."""
    if ticket.sla_paused_at:
        return mark_safe('<span class="sla paused">paused</span>')
    if not ticket.resolution_due_at:
        return mark_safe('<span class="muted">—</span>')
    clock = sla_clock(ticket.resolution_due_at, now)
    return format_html('<span class="sla {}" title="Resolution due {}">{}</span>', clock["css"],
                       date_format(localtime(ticket.resolution_due_at), "Y-m-d H:i"), clock["text"])
