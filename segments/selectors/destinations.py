"""Reads for destinations: a segment's destinations with their delivery figures (success rate, lag), a
destination's delivery log, the dead-letter list, the CRM actions shown on a contact's timeline, members as CSV
rows and the kept export files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Avg, Count, F, Q
from django.utils import timezone

from segments.models import ActionRun, Delivery, Destination, ExportFile, ExportSchedule, Segment
from segments.selectors.pages import member_rows, members_search

MEMBER_CSV_HEADER = ["profile_id", "name", "member_since"]
STATS_WINDOW = dt.timedelta(days=7)


def segment_destinations(segment: Segment, *, now: dt.datetime | None = None) -> list[dict]:
    """Each destination of ``segment`` with, over the last 7 days: deliveries (or runs), success rate (delivered
    of finished), average lag from entry/exit to delivery in seconds, pending and dead counts, last error. Two
    queries."""
    now = now or timezone.now()
    since = now - STATS_WINDOW
    destinations = list(Destination.objects.filter(segment=segment).order_by("id"))
    S = Delivery.Status
    stats = {row["destination_id"]: row for row in (
        Delivery.objects.filter(destination__segment=segment, created_at__gte=since)
        .values("destination_id")
        .annotate(total=Count("id"), delivered=Count("id", filter=Q(status=S.DELIVERED)),
                  dead=Count("id", filter=Q(status=S.DEAD)),
                  waiting=Count("id", filter=Q(status__in=[S.PENDING, S.RETRYING, S.SENDING])),
                  lag=Avg(F("delivered_at") - F("occurred_at"), filter=Q(status=S.DELIVERED))))}
    runs = {row["destination_id"]: row for row in (
        ActionRun.objects.filter(destination__segment=segment, created_at__gte=since).values("destination_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status=ActionRun.Status.DONE)),
                  skipped=Count("id", filter=Q(status=ActionRun.Status.SKIPPED)),
                  failed=Count("id", filter=Q(status=ActionRun.Status.FAILED)),
                  waiting=Count("id", filter=Q(status=ActionRun.Status.PENDING))))}
    out = []
    for d in destinations:
        if d.is_webhook:
            s = stats.get(d.pk, {})
            finished = s.get("delivered", 0) + s.get("dead", 0)
            lag = s.get("lag")
            out.append({"destination": d, "total": s.get("total", 0), "delivered": s.get("delivered", 0),
                        "dead": s.get("dead", 0), "waiting": s.get("waiting", 0),
                        "success_rate": round(100 * s["delivered"] / finished, 1) if finished else None,
                        "lag_seconds": round(lag.total_seconds(), 1) if lag is not None else None})
        else:
            r = runs.get(d.pk, {})
            out.append({"destination": d, "total": r.get("total", 0), "done": r.get("done", 0),
                        "skipped": r.get("skipped", 0), "failed": r.get("failed", 0), "waiting": r.get("waiting", 0)})
    return out


def destination_deliveries(destination: Destination, *, status: str = ""):
    qs = Delivery.objects.filter(destination=destination).order_by("-created_at", "-id")
    return qs.filter(status=status) if status else qs


def destination_runs(destination: Destination):
    return ActionRun.objects.filter(destination=destination).order_by("-created_at", "-id")


def dead_letters():
    """The dead-letter list: deliveries that failed their last attempt, newest first."""
    return (Delivery.objects.filter(status=Delivery.Status.DEAD).select_related("destination__segment")
            .order_by("-dead_at", "-id"))


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
