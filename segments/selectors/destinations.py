"""Reads for destinations: a segment's destinations with their delivery figures (success rate, lag), a
destination's delivery log, the dead-letter list, the CRM actions shown on a contact's timeline, members as CSV
rows and the kept export files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from segments.models import ActionRun, Delivery, Destination, ExportFile, ExportSchedule, Segment
from segments.selectors.pages import member_rows, members_search

MEMBER_CSV_HEADER = ["profile_id", "name", "member_since"]
STATS_WINDOW = dt.timedelta(hours=24)


class _Percentile(Aggregate):
    """Postgres ``percentile_cont(p) WITHIN GROUP (ORDER BY expression)`` (works on intervals too)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _seconds(value: dt.timedelta | None) -> float | None:
    return round(value.total_seconds(), 1) if value is not None else None


def destination_stats(segment: Segment, *, now: dt.datetime | None = None) -> dict[int, dict]:
    """Per destination id of ``segment``, over what was recorded in the last 24 hours (STATS_WINDOW). Webhooks:
    total, delivered, dead, waiting, success rate (% delivered of finished, None before any finished) and the lag
    from entry/exit to delivery (p50 and p95 seconds). CRM actions: total, done, skipped, failed, waiting. A
    destination with nothing in the window is absent. Two queries."""
    since = (now or timezone.now()) - STATS_WINDOW
    S = Delivery.Status
    lag = ExpressionWrapper(F("delivered_at") - F("occurred_at"), output_field=DurationField())
    delivered = Q(status=S.DELIVERED)
    out: dict[int, dict] = {}
    for row in (Delivery.objects.filter(destination__segment=segment, created_at__gte=since).order_by()
                .values("destination_id")
                .annotate(total=Count("id"), delivered=Count("id", filter=delivered),
                          dead=Count("id", filter=Q(status=S.DEAD)),
                          waiting=Count("id", filter=Q(status__in=[S.PENDING, S.RETRYING, S.SENDING])),
                          p50=_Percentile(lag, 0.5, filter=delivered, output_field=DurationField()),
                          p95=_Percentile(lag, 0.95, filter=delivered, output_field=DurationField()))):
        finished = row["delivered"] + row["dead"]
        out[row.pop("destination_id")] = {
            **row, "success_rate": round(100 * row["delivered"] / finished, 1) if finished else None,
            "lag_p50_seconds": _seconds(row.pop("p50")), "lag_p95_seconds": _seconds(row.pop("p95"))}
    R = ActionRun.Status
    for row in (ActionRun.objects.filter(destination__segment=segment, created_at__gte=since).order_by()
                .values("destination_id")
                .annotate(total=Count("id"), done=Count("id", filter=Q(status=R.DONE)),
                          skipped=Count("id", filter=Q(status=R.SKIPPED)),
                          failed=Count("id", filter=Q(status=R.FAILED)),
                          waiting=Count("id", filter=Q(status=R.PENDING)))):
        out[row.pop("destination_id")] = row
    return out


def segment_destinations(segment: Segment, *, now: dt.datetime | None = None) -> list[dict]:
    """Each destination of ``segment`` (oldest first) as {"destination", "stats"} (see destination_stats; empty
    stats when nothing happened in the window). Three queries."""
    stats = destination_stats(segment, now=now)
    return [{"destination": d, "stats": stats.get(d.pk, {})}
            for d in Destination.objects.filter(segment=segment).order_by("id")]


def destination_deliveries(destination: Destination, *, status: str = ""):
    qs = Delivery.objects.filter(destination=destination).order_by("-created_at", "-id")
    return qs.filter(status=status) if status else qs


def destination_runs(destination: Destination):
    return ActionRun.objects.filter(destination=destination).order_by("-created_at", "-id")


def dead_letters(*, segment_id: int | None = None, destination_id: int | None = None):
    """The dead-letter list: deliveries that failed their last attempt, newest first (of one segment or one
    destination if given)."""
    qs = Delivery.objects.filter(status=Delivery.Status.DEAD)
    if segment_id is not None:
        qs = qs.filter(destination__segment_id=segment_id)
    if destination_id is not None:
        qs = qs.filter(destination_id=destination_id)
    return qs.select_related("destination__segment").order_by("-dead_at", "-id")


def contact_action_runs(contact_id: int, *, limit: int = 50) -> list[ActionRun]:
    return list(ActionRun.objects.filter(contact_id=contact_id, status=ActionRun.Status.DONE)
                .select_related("destination__segment").order_by("-done_at")[:limit])


def member_csv_rows(segment: Segment, query: str = "", *, chunk_size: int = 2000) -> Iterator[list]:
    """The members of ``segment`` (matching ``query``) as CSV rows (MEMBER_CSV_HEADER), a chunk at a time."""
    chunk: list = []
    for m in members_search(segment, query).iterator(chunk_size=chunk_size):
        chunk.append(m)
        if len(chunk) == chunk_size:
            yield from ([r["profile_id"], r["name"], r["since"].isoformat()] for r in member_rows(chunk))
            chunk = []
    yield from ([r["profile_id"], r["name"], r["since"].isoformat()] for r in member_rows(chunk))


def segment_export_files(segment: Segment):
    return ExportFile.objects.filter(segment=segment).order_by("-created_at", "-id")


def segment_export_schedule(segment: Segment) -> ExportSchedule | None:
    return ExportSchedule.objects.filter(segment=segment).order_by("id").first()


def export_files_visible_to(user):
    """The kept export files ``user`` may download: all of them for those who build segments (Marketing,
    admins), none for anyone else."""
    from segments.selectors.access import can_build_segments  # noqa: PLC0415

    return ExportFile.objects.all() if can_build_segments(user) else ExportFile.objects.none()
