"""Reading segment sizes over time for other apps (reports): the membership intervals behind them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, QuerySet

from segments.models import Membership


def membership_intervals(*, before: datetime) -> QuerySet:
    """Every membership interval that began before ``before``, as values ``segment_id``, ``segment_name``,
    ``entered_at``, ``exited_at`` (null while still a member). A segment's size at an instant t < ``before`` is
    the number of these intervals with ``entered_at <= t`` and (``exited_at`` null or ``> t``)."""
    return (Membership.objects.filter(entered_at__lt=before).order_by()
            .annotate(segment_name=F("segment__name"))
            .values("segment_id", "segment_name", "entered_at", "exited_at"))
