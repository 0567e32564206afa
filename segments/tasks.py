"""Celery tasks of segments: take ids, call one service, hold the retry policy. Task names start with
"segments." so they run on the "segments" queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from segments.rules.validation import RuleError
from segments.services import refresh
from segments.services.timeline_events import timeline_events_write

MAX_RETRIES = 3


@shared_task(name="segments.tasks.refresh_segment", bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def refresh_segment(self, segment_id: int, version: int | None = None) -> None:
    """Full refresh for ``version`` (skipped if stale). A failure is recorded on the segment and retried with
    backoff; after the last retry the segment shows "failed" with its error (never stuck refreshing)."""
    try:
        refresh.segment_refresh(segment_id=segment_id, version=version)
    except Exception as exc:
        # A rule that no longer checks will not fix itself: no retry. Anything else (lock timeout, lost
        # connection) is retried with backoff.
        final = isinstance(exc, RuleError) or self.request.retries >= MAX_RETRIES
        refresh.segment_refresh_failed(segment_id=segment_id, error=exc, final=final)
        if final:
            return
        raise self.retry(exc=exc, countdown=5 * 2 ** self.request.retries) from exc


@shared_task(name="segments.tasks.check_profiles", ignore_result=True, max_retries=5, retry_backoff=True,
             autoretry_for=(Exception,))
def check_profiles(profile_ids: list[int]) -> None:
    """Re-evaluate these profiles against every real-time segment."""
    refresh.profiles_check(profile_ids=profile_ids)


@shared_task(name="segments.tasks.refresh_due", ignore_result=True)
def refresh_due() -> int:
    """Beat: request the refreshes that are due (scheduled segments, time-window sweeps, stuck ones)."""
    return len(refresh.segments_due())


@shared_task(name="segments.tasks.write_timeline_events", ignore_result=True, max_retries=5, retry_backoff=True,
             autoretry_for=(Exception,))
def write_timeline_events(segment_id: int, at: str) -> None:
    timeline_events_write(segment_id=segment_id, at=dt.datetime.fromisoformat(at))


@shared_task(name="segments.tasks.send_deliveries", bind=True, ignore_result=True)
def send_deliveries(self) -> None:
    """Send the due webhook deliveries for a while; queue a continuation when more are due. Retries of a delivery
    are the delivery's own (recorded on its row), not this task's."""
    from segments.services import webhooks  # noqa: PLC0415

    webhooks.deliveries_send_due()
    if webhooks.deliveries_more_due():
        self.apply_async()


@shared_task(name="segments.tasks.run_actions", ignore_result=True, max_retries=5, retry_backoff=True,
             autoretry_for=(Exception,))
def run_actions(segment_id: int | None = None) -> None:
    """Run the pending CRM actions (of ``segment_id``, or all)."""
    from segments.services.crm_actions import action_runs_execute  # noqa: PLC0415

    action_runs_execute(segment_id=segment_id)


@shared_task(name="segments.tasks.activation_sweep", ignore_result=True)
def activation_sweep() -> None:
    """Beat: put back deliveries a dead worker left sending, send what is due, run leftover CRM actions, write the
    scheduled exports that are due and delete expired export files."""
    from segments.services import exports, webhooks  # noqa: PLC0415
    from segments.services.crm_actions import action_runs_execute  # noqa: PLC0415

    webhooks.deliveries_sweep()
    if webhooks.deliveries_more_due():
        send_deliveries.delay()
    action_runs_execute(segment_id=None)
    exports.exports_expire()  # first: retention of personal data does not wait for new exports
    exports.exports_due()


@shared_task(name="segments.tasks.rescore_model", bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def rescore_model(self, model_id: int, version: int | None = None) -> None:
    """Full rescoring of a score model for ``version`` (skipped if stale); failures recorded on the model."""
    from segments.services import scoring  # noqa: PLC0415

    try:
        scoring.score_model_rescore(model_id=model_id, version=version)
    except Exception as exc:
        scoring.score_model_rescore_failed(model_id=model_id, error=exc)
        if isinstance(exc, RuleError) or self.request.retries >= MAX_RETRIES:
            return
        raise self.retry(exc=exc, countdown=5 * 2 ** self.request.retries) from exc


@shared_task(name="segments.tasks.rescore_all", ignore_result=True)
def rescore_all() -> int:
    """Beat: full rescoring of every score model (decayed points fade)."""
    from segments.services import scoring  # noqa: PLC0415

    return len(scoring.score_models_rescore_all())
