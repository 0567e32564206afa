"""The one ingestion path: HTTP API, tracker, email webhooks, CRM outbox drain and imports all call
``events_ingest``.

Set-based and durable: one request is validated in Python, then stored with ONE SQL statement (dedupe rows,
the IngestBatch and all RawEvent rows via data-modifying CTEs over ``unnest`` arrays) inside one transaction;
processing is queued only after commit, and ``batches_requeue_stale`` re-queues anything whose enqueue was lost.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cdp.models import IngestBatch, RejectedMessage, Source
from cdp.services.validation import Rejection, ValidEvent, messages_validate, rejected_payload_text
from config.queueing import enqueue_on_commit

__all__ = ["IngestResult", "Rejection", "events_ingest", "rejections_record", "batches_requeue_stale"]

# Dedupe first (sorted, so concurrent replays lock keys in the same order and cannot deadlock); only the
# messageIds that were new get a RawEvent row; the batch row exists only when something was stored.
_INSERT_SQL = """
WITH fresh AS (
    INSERT INTO cdp_messagededupe (source_id, message_id, received_at)
    SELECT %(source_id)s, m, %(received_at)s FROM unnest(%(message_ids)b::text[]) AS m ORDER BY m
    ON CONFLICT DO NOTHING
    RETURNING message_id
), batch AS (
    INSERT INTO cdp_ingestbatch (source_id, received_at, event_count, attempts)
    SELECT %(source_id)s, %(received_at)s, count(*), 0 FROM fresh HAVING count(*) > 0
    RETURNING id
), stored AS (
    INSERT INTO cdp_rawevent (
        received_at, source_id, batch_id, message_id, type, user_id, anonymous_id, event,
        "timestamp", original_timestamp, sent_at, future_timestamp, payload
    )
    SELECT %(received_at)s, %(source_id)s, batch.id, e.message_id, e.type, e.user_id, e.anonymous_id, e.event,
           e.ts, e.ots, e.sat, e.fut, e.payload::jsonb
    FROM unnest(
        %(message_ids)b::text[], %(types)b::text[], %(user_ids)b::text[], %(anonymous_ids)b::text[],
        %(events)b::text[], %(timestamps)b::timestamptz[], %(original_timestamps)b::timestamptz[],
        %(sent_ats)b::timestamptz[], %(futures)b::boolean[], %(payloads)b::text[]
    ) AS e(message_id, type, user_id, anonymous_id, event, ts, ots, sat, fut, payload)
    JOIN fresh USING (message_id)
    CROSS JOIN batch
    RETURNING 1
)
SELECT (SELECT id FROM batch), (SELECT count(*) FROM stored)
"""


@dataclass(slots=True)
class IngestResult:
    """accepted: events newly stored; duplicates: valid messages already seen (accepted and ignored);
    rejected: messages refused by validation; batch_id: the IngestBatch holding the stored events (None if none)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    batch_id: int | None = None

    @property
    def valid(self) -> int:
        """Messages the sender may consider delivered (stored now or before)."""
        return self.accepted + self.duplicates


def _store(*, source_id: int, received_at: datetime, events: list[ValidEvent]) -> tuple[int | None, int]:
    (message_ids, types, user_ids, anonymous_ids, names, timestamps, original_timestamps, sent_ats, futures,
     payloads) = map(list, zip(*events, strict=True))
    params = {
        "source_id": source_id,
        "received_at": received_at,
        "message_ids": message_ids,
        "types": types,
        "user_ids": user_ids,
        "anonymous_ids": anonymous_ids,
        "events": names,
        "timestamps": timestamps,
        "original_timestamps": original_timestamps,
        "sent_ats": sent_ats,
        "futures": futures,
        "payloads": payloads,
    }
    # Server-side binding with binary arrays: Django's default client-side binding quotes every array element
    # in Python, which costs more than the insert itself. Still wrapped by Django (query logging, counting).
    # When nobody is logging queries the statement is also prepared server-side (parsed and planned once per
    # connection).
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    with raw:
        if connection.queries_logged:
            connection.make_debug_cursor(raw).execute(_INSERT_SQL, params)
        else:
            raw.execute(_INSERT_SQL, params, prepare=True)
        batch_id, stored = raw.fetchone()
    return batch_id, stored


def rejections_record(
    *, source: Source, rejections: list[Rejection], messages: list[Any] | None = None, received_at: datetime
) -> None:
    """Keep rejected messages for inspection (one multi-row insert). ``messages`` gives their payloads by index."""
    if not rejections:
        return
    rows = []
    for r in rejections:
        payload = messages[r.index] if messages is not None and 0 <= r.index < len(messages) else None
        rows.append(
            RejectedMessage(
                source=source,
                received_at=received_at,
                message_id=(r.message_id or "").replace("\x00", "")[:200],
                error=r.error[:40],
                detail=r.detail.replace("\x00", ""),
                payload=payload if isinstance(payload, str) else rejected_payload_text(payload),
            )
        )
    RejectedMessage.objects.bulk_create(rows)


def events_ingest(
    *, source: Source, messages: list[dict], received_at: datetime | None = None, sent_at: str | None = None
) -> IngestResult:
    """Validate, dedupe on (source, messageId) and durably store ``messages`` as one IngestBatch.

    Everything (dedupe rows, batch, raw events, rejections) is written in ONE transaction; when it commits,
    ``cdp.tasks.batch_process`` is queued for the batch. Concurrent calls with the same messageIds store each
    once. Repeats within ``messages`` count as duplicates. Database errors propagate (the caller answers 503).
    """
    from cdp.tasks import batch_process  # noqa: PLC0415 - tasks import services; avoid the import cycle

    received_at = received_at or timezone.now()
    valid, rejections = messages_validate(messages, received_at=received_at, sent_at=sent_at)
    seen: set[str] = set()
    unique: list[ValidEvent] = []
    for event in valid:
        if event.message_id not in seen:
            seen.add(event.message_id)
            unique.append(event)
    result = IngestResult(rejected=rejections)
    # The store is ONE statement, atomic by itself: in autocommit mode (the HTTP hot path) it commits on its
    # own and saves the BEGIN/COMMIT round trips; with rejections to record, or inside the caller's transaction,
    # everything shares one transaction. Either way processing is queued only once the events are committed.
    with transaction.atomic() if rejections or connection.in_atomic_block else nullcontext():
        if unique:
            batch_id, stored = _store(source_id=source.pk, received_at=received_at, events=unique)
            result.accepted = stored
            result.duplicates = len(valid) - stored
            result.batch_id = batch_id
            if batch_id is not None:
                enqueue_on_commit(batch_process, batch_id)
        if rejections:
            rejections_record(source=source, rejections=rejections, messages=messages, received_at=received_at)
    return result


def batches_requeue_stale(*, older_than: timedelta | None = None, limit: int = 1000) -> list[int]:
    """Find batches still unprocessed ``older_than`` after they were received (or last re-queued), mark them
    re-queued and queue their processing after commit. Safe to run concurrently (SKIP LOCKED)."""
    from cdp.tasks import batch_process  # noqa: PLC0415

    if older_than is None:
        older_than = timedelta(seconds=settings.CDP_SWEEP_AFTER_SECONDS)
    now = timezone.now()
    cutoff = now - older_than
    with transaction.atomic():
        ids = list(
            IngestBatch.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True, received_at__lt=cutoff)
            .exclude(requeued_at__gte=cutoff)
            .order_by("received_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            IngestBatch.objects.filter(id__in=ids).update(requeued_at=now)
            for batch_id in ids:
                enqueue_on_commit(batch_process, batch_id)
    return ids
