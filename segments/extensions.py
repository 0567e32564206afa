"""What segments registers in cdp's and crm's extension points (from SegmentsConfig.ready())."""

from __future__ import annotations

from django.urls import reverse

from config.queueing import enqueue_on_commit
from segments.selectors.memberships import profile_current_segments

CHECK_CHUNK = 2000


def profiles_changed(profile_ids: list[int]) -> None:
    """cdp calls this after a processed batch commits: queue the real-time check of those profiles (only
    queue: a failing segment check can never fail the batch)."""
    from segments.tasks import check_profiles  # noqa: PLC0415

    ids = sorted(set(profile_ids))
    for start in range(0, len(ids), CHECK_CHUNK):
        enqueue_on_commit(check_profiles, ids[start:start + CHECK_CHUNK])


def profile_segments(profile_id: int) -> list[dict]:
    return [{"id": m.segment_id, "name": m.segment.name, "since": m.entered_at,
             "url": reverse("segments:detail", args=[m.segment_id])}
            for m in profile_current_segments(profile_id)]


def action_runs_timeline(subject, *, user, limit: int = 50) -> list:
    """The CRM actions segments took on a contact (task created, tag, stage, lead created), naming the segment."""
    from crm.extensions import TimelineEntry  # noqa: PLC0415
    from crm.models import Contact  # noqa: PLC0415
    from segments.selectors.destinations import contact_action_runs  # noqa: PLC0415

    if not isinstance(subject, Contact):
        return []
    return [TimelineEntry(at=run.done_at, kind="segment_action",
                          title=f"Segment “{run.destination.segment.name}”: {run.destination.get_kind_display()}",
                          body=run.detail, url=reverse("segments:detail", args=[run.destination.segment_id]),
                          actor="Segment automation",
                          extra={"segment_id": run.destination.segment_id, "activity_id": run.activity_id})
            for run in contact_action_runs(subject.pk, limit=limit)]


def register() -> None:
    from cdp.extensions import register_profile_segment_provider, register_profiles_changed_listener  # noqa: PLC0415
    from crm.extensions import register_demo_seeder  # noqa: PLC0415
    from segments.demo import demo_segments_seed  # noqa: PLC0415

    from crm.extensions import register_timeline_provider  # noqa: PLC0415

    register_timeline_provider(action_runs_timeline)
    register_profiles_changed_listener(profiles_changed)
    register_profile_segment_provider(profile_segments)
    register_demo_seeder(demo_segments_seed)
