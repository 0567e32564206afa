"""Refreshing segment membership: a full refresh in SQL set operations, and the real-time check of a few
profiles. Both run the one compiled query and hold the segment's advisory lock, so they never interleave.

A full refresh is requested (``segment_refresh_request``: the version goes up, the task is queued after
commit) and runs for the version it was asked for; when a newer request exists by the time it holds the lock,
it skips itself (the newer task does the work). Membership changes are intervals: entering inserts an open
interval, leaving closes it. The timeline events (Segment Entered / Exited) are written afterwards, outside
the refresh transaction (segments.services.timeline_events).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.queueing import enqueue_on_commit
from segments.models import Membership, Segment, SizeSnapshot
from segments.rules.validation import RuleError
from segments.selectors.evaluation import rule_sql
from segments.services.definitions import rule_check
from segments.services.destinations import activation_record

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x5E6  # pg advisory lock (namespace, segment id): one refresh or check per segment at a time


@dataclass
class RefreshOutcome:
    skipped: bool = False
    size: int = 0
    entered: list[int] = field(default_factory=list)
    exited: list[int] = field(default_factory=list)
    duration_ms: int = 0


def _lock(segment_id: int) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, segment_id])


def segment_refresh_request(*, segment: Segment) -> int:
    """Ask for a full refresh of ``segment``: bump its version, mark it queued and queue the refresh after
    commit. Returns the requested version."""
    Segment.objects.filter(pk=segment.pk).update(version=F("version") + 1, status=Segment.Status.QUEUED,
                                                 updated_at=timezone.now())
    version = Segment.objects.values_list("version", flat=True).get(pk=segment.pk)
    enqueue_on_commit("segments.tasks.refresh_segment", segment.pk, version)
    return version


def _diff_sql(compiled_sql: str, *, restricted: bool) -> str:
    table = Membership._meta.db_table
    scope = "AND m.profile_id = ANY(%(ids)s::bigint[])" if restricted else ""
    return f"""
        WITH matched AS MATERIALIZED ({compiled_sql}),
        exited AS (
            UPDATE {table} m SET exited_at = %(at)s
             WHERE m.segment_id = %(segment_id)s AND m.exited_at IS NULL {scope}
               AND NOT EXISTS (SELECT 1 FROM matched x WHERE x.id = m.profile_id)
            RETURNING m.profile_id),
        entered AS (
            INSERT INTO {table} (segment_id, profile_id, entered_at)
            SELECT %(segment_id)s, x.id, %(at)s FROM matched x
             WHERE NOT EXISTS (SELECT 1 FROM {table} m WHERE m.segment_id = %(segment_id)s
                                  AND m.profile_id = x.id AND m.exited_at IS NULL)
            ON CONFLICT (segment_id, profile_id) WHERE exited_at IS NULL DO NOTHING
            RETURNING profile_id)
        SELECT (SELECT count(*) FROM matched),
               (SELECT coalesce(array_agg(profile_id), '{{}}') FROM entered),
               (SELECT coalesce(array_agg(profile_id), '{{}}') FROM exited)"""


def segment_refresh(*, segment_id: int, version: int | None = None, now=None) -> RefreshOutcome:
    """Recompute the members of segment ``segment_id`` now. Skips itself if a refresh newer than ``version``
    was requested. Raises RuleError for a rule that no longer checks (e.g. a used segment was deleted) and
    database errors; the caller (the task) records them (``segment_refresh_failed``) and retries."""
    started = time.monotonic()
    with transaction.atomic():
        _lock(segment_id)
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None or (version is not None and segment.version > version):
            return RefreshOutcome(skipped=True)
        if segment.mode == Segment.Mode.STATIC:  # a frozen list keeps its members
            Segment.objects.filter(pk=segment_id).update(status=Segment.Status.READY, next_refresh_at=None)
            return RefreshOutcome(skipped=True)
        now = now or timezone.now()
        Segment.objects.filter(pk=segment_id).update(status=Segment.Status.RUNNING, updated_at=now)
        norm = rule_check(segment.definition, segment_id=segment_id)
        compiled = rule_sql(norm, now=now)
        with connection.cursor() as cur:
            cur.execute(_diff_sql(compiled.sql, restricted=False),
                        {**compiled.params, "at": now, "segment_id": segment_id})
            size, entered, exited = cur.fetchone()
        duration = int((time.monotonic() - started) * 1000)
        Segment.objects.filter(pk=segment_id).update(
            size=size, status=Segment.Status.READY, last_error="", attempts=0, last_refreshed_at=now,
            last_refresh_ms=duration, refreshed_version=version if version is not None else segment.version,
            next_refresh_at=now + _interval(segment),
        )
        SizeSnapshot.objects.create(segment_id=segment_id, at=now, size=size, entered=len(entered),
                                    exited=len(exited), duration_ms=duration, full=True)
        _after_change(segment_id, now, entered, exited)
        _queue_dependents(segment_id)
    return RefreshOutcome(size=size, entered=entered, exited=exited, duration_ms=duration)


def _interval(segment: Segment) -> timedelta:
    from django.conf import settings  # noqa: PLC0415

    minutes = segment.interval_minutes or 60
    if segment.uses_time:  # people leave on time: sweep time-window segments at least this often
        minutes = min(minutes, settings.SEGMENTS_TIME_SWEEP_MINUTES)
    return timedelta(minutes=minutes)


def _after_change(segment_id: int, at, entered: list[int], exited: list[int]) -> None:
    """Caller holds the segment lock inside the transaction that changed the memberships: the timeline events
    and the destinations' deliveries and CRM action runs are recorded now (rows only) and run after commit."""
    if entered or exited:
        enqueue_on_commit("segments.tasks.write_timeline_events", segment_id, at.isoformat())
        activation_record(segment_id=segment_id, at=at, entered=bool(entered), exited=bool(exited))


def _queue_dependents(segment_id: int) -> None:
    for dependent in Segment.objects.filter(depends_on__contains=[segment_id]):
        segment_refresh_request(segment=dependent)


def segment_refresh_failed(*, segment_id: int, error: BaseException, final: bool) -> None:
    """Record a failed refresh on the segment (shown on its page): failed when no retry is left, else queued."""
    message = "; ".join(e["message"] for e in error.errors) if isinstance(error, RuleError) else str(error)
    now = timezone.now()
    Segment.objects.filter(pk=segment_id).update(
        status=Segment.Status.FAILED if final else Segment.Status.QUEUED, last_error=message[:2000] or repr(error),
        attempts=F("attempts") + 1, updated_at=now, next_refresh_at=now + timedelta(minutes=30) if final else None,
    )


def segment_check_profiles(*, segment: Segment, norm: dict, profile_ids: list[int]) -> RefreshOutcome:
    """Re-evaluate ``profile_ids`` (surviving profiles) for real-time ``segment`` and move them in or out."""
    started = time.monotonic()
    with transaction.atomic():
        _lock(segment.pk)
        now = timezone.now()
        compiled = rule_sql(norm, now=now, profile_ids=profile_ids)
        with connection.cursor() as cur:
            cur.execute(_diff_sql(compiled.sql, restricted=True),
                        {**compiled.params, "ids": list(profile_ids), "at": now, "segment_id": segment.pk})
            _, entered, exited = cur.fetchone()
        if entered or exited:
            Segment.objects.filter(pk=segment.pk).update(size=F("size") + len(entered) - len(exited))
            _after_change(segment.pk, now, entered, exited)
            _queue_dependents(segment.pk)
    return RefreshOutcome(entered=entered, exited=exited, duration_ms=int((time.monotonic() - started) * 1000))


def segments_in_dependency_order(segments: list[Segment]) -> list[Segment]:
    """``segments`` ordered so that each comes after the segments it uses."""
    by_id = {s.pk: s for s in segments}
    done: list[Segment] = []
    seen: set[int] = set()

    def visit(s: Segment, trail: set[int]) -> None:
        if s.pk in seen or s.pk in trail:
            return
        for dep in s.depends_on:
            if dep in by_id:
                visit(by_id[dep], trail | {s.pk})
        seen.add(s.pk)
        done.append(s)

    for s in sorted(segments, key=lambda s: s.pk):
        visit(s, set())
    return done


def profiles_check(*, profile_ids: list[int]) -> dict[int, RefreshOutcome]:
    """Rescore ``profile_ids`` under every score model, then re-evaluate them against every real-time segment,
    dependencies first, after moving the open memberships of profiles merged into them.
    A segment whose rule no longer checks is skipped (its next full
    refresh records the error)."""
    from segments.services.merges import memberships_follow_merges  # noqa: PLC0415

    if not profile_ids:
        return {}
    memberships_follow_merges(profile_ids=profile_ids)
    # Scores first: real-time segments may use a score threshold.
    from segments.services.scoring import profiles_rescore  # noqa: PLC0415

    profiles_rescore(profile_ids=profile_ids)
    outcomes = {}
    realtime = list(Segment.objects.filter(mode=Segment.Mode.REALTIME))
    for segment in segments_in_dependency_order(realtime):
        try:
            norm = rule_check(segment.definition, segment_id=segment.pk)
        except RuleError as exc:
            logger.warning("segment %s skipped in real-time check: %s", segment.pk, exc)
            continue
        outcomes[segment.pk] = segment_check_profiles(segment=segment, norm=norm, profile_ids=profile_ids)
    return outcomes


def segments_due(*, now=None, stuck_after: timedelta = timedelta(minutes=15)) -> list[int]:
    """Request a full refresh of every segment whose next refresh is due, never refreshed, or stuck queued or
    running for longer than ``stuck_after`` (a worker died); returns their ids."""
    from django.db.models import Q  # noqa: PLC0415

    now = now or timezone.now()
    due = Segment.objects.exclude(mode=Segment.Mode.STATIC).filter(
        Q(next_refresh_at__lte=now) | Q(status=Segment.Status.NEW)
        | Q(status__in=[Segment.Status.QUEUED, Segment.Status.RUNNING], updated_at__lte=now - stuck_after)
    )
    ids = []
    with transaction.atomic():
        for segment in due.select_for_update(skip_locked=True):
            Segment.objects.filter(pk=segment.pk).update(next_refresh_at=None)
            segment_refresh_request(segment=segment)
            ids.append(segment.pk)
    return ids
