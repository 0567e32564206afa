"""Reading memberships: a profile's current segments, a segment's members and history."""

from __future__ import annotations

from django.db.models import QuerySet

from segments.models import Membership, Segment, SizeSnapshot


def profile_current_segments(profile_id: int) -> QuerySet[Membership]:
    """Open memberships of ``profile_id`` with their segment, by segment name."""
    return (Membership.objects.filter(profile_id=profile_id, exited_at__isnull=True).select_related("segment")
            .order_by("segment__name"))


def profile_membership_history(profile_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(profile_id=profile_id).select_related("segment").order_by("-entered_at", "-id")


def segment_members(segment: Segment) -> QuerySet[Membership]:
    """Current members (open intervals), newest first."""
    return Membership.objects.filter(segment=segment, exited_at__isnull=True).order_by("-entered_at", "-profile_id")


def segment_history(segment: Segment) -> QuerySet[Membership]:
    """Every interval of the segment, most recent change first."""
    return Membership.objects.filter(segment=segment).order_by("-entered_at", "-id")


def segment_recent_changes(segment: Segment, *, limit: int = 20) -> list[dict]:
    """The latest entries and exits: [{profile_id, kind: "entered"/"exited", at}], newest first."""
    entered = list(Membership.objects.filter(segment=segment).order_by("-entered_at")
                   .values_list("profile_id", "entered_at")[:limit])
    exited = list(Membership.objects.filter(segment=segment, exited_at__isnull=False).order_by("-exited_at")
                  .values_list("profile_id", "exited_at")[:limit])
    rows = [{"profile_id": p, "kind": "entered", "at": at} for p, at in entered]
    rows += [{"profile_id": p, "kind": "exited", "at": at} for p, at in exited]
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows[:limit]


def segment_sizes(segment: Segment, *, limit: int = 60) -> list[SizeSnapshot]:
    """Full-refresh size snapshots, oldest first (the last ``limit``)."""
    return list(reversed(SizeSnapshot.objects.filter(segment=segment, full=True).order_by("-at")[:limit]))
