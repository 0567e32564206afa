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


def contact_scores(contact_ids: list[int]) -> dict:
    from crm.extensions import ContactScore  # noqa: PLC0415
    from segments.selectors.scoring import contact_default_scores, why  # noqa: PLC0415

    found = {}
    for row in contact_default_scores(contact_ids):
        found.setdefault(row.contact_id, ContactScore(value=row.score, model=row.model.name,
                                                       why=tuple(why(row.model, row.points))))
    return found


def contact_score_expression():
    from segments.selectors.scoring import default_score_subquery  # noqa: PLC0415

    return default_score_subquery()  # no query here: without a default model every contact scores 0


def contact_score_panel(contact, *, user) -> dict | None:
    from segments.selectors.scoring import contact_all_scores  # noqa: PLC0415

    scores = contact_all_scores(contact.pk)
    if not scores:
        return None
    return {"title": "Lead score", "template": "segments/scoring/_contact_panel.html", "context": {"scores": scores}}


def profile_scores_api(profile_id: int) -> list[dict]:
    from segments.selectors.scoring import profile_scores, why  # noqa: PLC0415

    return [{"model_id": r.model_id, "model": r.model.name, "default": r.model.is_default, "score": float(r.score),
             "why": [{"label": label, "points": float(points)} for label, points in why(r.model, r.points)],
             "scored_at": r.scored_at.isoformat()} for r in profile_scores(profile_id)]


def register() -> None:
    from cdp.extensions import register_profile_segment_provider, register_profiles_changed_listener  # noqa: PLC0415
    from crm.extensions import (
        register_demo_seeder,  # noqa: PLC0415
        register_timeline_provider,  # noqa: PLC0415
    )
    from segments.demo import demo_segments_seed  # noqa: PLC0415

    register_timeline_provider(action_runs_timeline)
    register_profiles_changed_listener(profiles_changed)
    register_profile_segment_provider(profile_segments)
    from cdp.extensions import register_profile_score_provider  # noqa: PLC0415

    register_profile_score_provider(profile_scores_api)
    register_demo_seeder(demo_segments_seed)
    from crm.extensions import ContactScoreSource, register_contact_panel, register_contact_score_source  # noqa: PLC0415

    register_contact_score_source(ContactScoreSource(annotation=contact_score_expression, scores=contact_scores))
    register_contact_panel(contact_score_panel)
