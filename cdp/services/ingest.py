"""The one ingestion path: HTTP API, tracker, email webhooks, CRM outbox drain and imports all call
``events_ingest``.

Set-based and durable: one request is validated in Python, then stored with ONE SQL statement (dedupe rows,
the IngestBatch and all RawEvent rows via data-modifying CTEs over ``unnest`` arrays) inside one transaction;
processing is queued only after commit, and ``batches_requeue_stale`` re-queues anything whose enqueue was lost.
"""

from __future__ import annotations

import struct
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format

from cdp.models import IngestBatch, RejectedMessage, Source
from cdp.services.processing import batch_processing_queue
from cdp.services.validation import Rejection, ValidEvent, messages_validate, rejected_payload_text
from config.queueing import enqueue_on_commit

__all__ = ["IngestResult", "Rejection", "events_ingest", "rejections_record", "batches_requeue_stale"]

# Dedupe first (sorted, so concurrent replays lock keys in the same order and cannot deadlock); only the
# messageIds that were new get a RawEvent row, inserted in message order (so ids follow the order sent); the batch
# row exists only when something was stored.
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
    ) WITH ORDINALITY AS e(message_id, type, user_id, anonymous_id, event, ts, ots, sat, fut, payload, position)
    JOIN fresh USING (message_id)
    CROSS JOIN batch
    ORDER BY e.position
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


class _TextArray(bytes):
    """A text[] already in Postgres' binary array format (see ``_pack``)."""


class _TimestamptzArray(bytes):
    """A timestamptz[] in binary array format."""


class _BoolArray(bytes):
    """A boolean[] in binary array format."""


def _packed_dumper(oid: int) -> type[Dumper]:
    class PackedDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: bytes) -> bytes:
            return obj

    PackedDumper.oid = oid
    return PackedDumper


_DUMPERS = (
    (_TextArray, _packed_dumper(postgres.types["text"].array_oid)),
    (_TimestamptzArray, _packed_dumper(postgres.types["timestamptz"].array_oid)),
    (_BoolArray, _packed_dumper(postgres.types["bool"].array_oid)),
)
_TEXT_OID = postgres.types["text"].oid
_TIMESTAMPTZ_OID = postgres.types["timestamptz"].oid
_BOOL_OID = postgres.types["bool"].oid
_HEADER = struct.Struct("!iiiii")  # ndim, has_null, element oid, length, lower bound
_LENGTH = struct.Struct("!i").pack
_NULL = _LENGTH(-1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # Postgres' binary timestamps count microseconds from here
_MICROSECOND = timedelta(microseconds=1)
_INT64 = struct.Struct("!iq").pack  # length 8, then the value
_TRUE, _FALSE = _LENGTH(1) + b"\x01", _LENGTH(1) + b"\x00"


def _pack_text(values: tuple[str | None, ...]) -> _TextArray:
    """Binary text[] built in one pass: psycopg's generic array dumper costs ~2 us per element in Python."""
    parts = []
    append = parts.append
    for value in values:
        if value is None:
            append(_NULL)
        else:
            data = value.encode()
            append(_LENGTH(len(data)))
            append(data)
    has_null = 1 if None in values else 0
    return _TextArray(_HEADER.pack(1, has_null, _TEXT_OID, len(values), 1) + b"".join(parts))


def _pack_utf8(values: tuple[bytes, ...]) -> _TextArray:
    """Binary text[] of values already encoded as UTF-8 (the validated payloads: no decoding and re-encoding)."""
    length = _LENGTH
    return _TextArray(_HEADER.pack(1, 0, _TEXT_OID, len(values), 1)
                      + b"".join([part for value in values for part in (length(len(value)), value)]))


def _pack_timestamps(values: tuple[datetime | None, ...]) -> _TimestamptzArray:
    memo: dict[datetime, bytes] = {}
    parts = []
    for value in values:
        if value is None:
            parts.append(_NULL)
            continue
        packed = memo.get(value)
        if packed is None:
            packed = memo[value] = _INT64(8, (value - _EPOCH) // _MICROSECOND)
        parts.append(packed)
    has_null = 1 if None in values else 0
    return _TimestamptzArray(_HEADER.pack(1, has_null, _TIMESTAMPTZ_OID, len(values), 1) + b"".join(parts))


def _pack_bools(values: tuple[bool, ...]) -> _BoolArray:
    return _BoolArray(
        _HEADER.pack(1, 0, _BOOL_OID, len(values), 1) + b"".join(_TRUE if v else _FALSE for v in values)
    )


def _store(*, source_id: int, received_at: datetime, events: list[ValidEvent]) -> tuple[int | None, int]:
    (message_ids, types, user_ids, anonymous_ids, names, timestamps, original_timestamps, sent_ats, futures,
     payloads) = zip(*events, strict=True)
    params = {
        "source_id": source_id,
        "received_at": received_at,
        "message_ids": _pack_text(message_ids),
        "types": _pack_text(types),
        "user_ids": _pack_text(user_ids),
        "anonymous_ids": _pack_text(anonymous_ids),
        "events": _pack_text(names),
        "timestamps": _pack_timestamps(timestamps),
        "original_timestamps": _pack_timestamps(original_timestamps),
        "sent_ats": _pack_timestamps(sent_ats),
        "futures": _pack_bools(futures),
        "payloads": _pack_utf8(payloads),
    }
    # Server-side binding with binary arrays packed here: Django's default client-side binding quotes every
    # array element in Python, and psycopg's own array dumper is not much cheaper; both cost more than the
    # insert itself. Still wrapped by Django (query logging, counting). When nobody is logging queries the
    # statement is also prepared server-side (parsed and planned once per connection).
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    for cls, dumper in _DUMPERS:
        raw.adapters.register_dumper(cls, dumper)
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
    processing is queued (``cdp.tasks.batch_process``, coalesced: see cdp.services.processing). Concurrent
    calls with the same messageIds store each once. Repeats within ``messages`` count as duplicates. Database
    errors propagate (the caller answers 503).
    """
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
                batch_processing_queue(batch_id=batch_id)
        if rejections:
            rejections_record(source=source, rejections=rejections, messages=messages, received_at=received_at)
    return result


def batches_requeue_stale(*, older_than: timedelta | None = None, limit: int = 1000) -> list[int]:
    """Find batches still unprocessed ``older_than`` after they were received (or last re-queued), mark them
    re-queued and queue their processing after commit. Safe to run concurrently (SKIP LOCKED)."""
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
                enqueue_on_commit("cdp.tasks.batch_process", batch_id)
    return ids
