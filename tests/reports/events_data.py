"""Inserting raw events (and their profile links) directly, as ingestion and identity resolution would have left
them: the events of one source received at one time form a batch, processed when all its events have a profile
(events without a profile are those of batches identity resolution has not processed yet)."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.utils import timezone

from cdp.models import EventProfile, IngestBatch, RawEvent, Source

_ids = itertools.count(1)


def source(name: str = "Website") -> Source:
    return Source.objects.get_or_create(name=name, defaults={"kind": Source.Kind.WEBSITE})[0]


def add_events(rows: list[dict]) -> list[RawEvent]:
    """rows: dicts with ts (aware datetime) and any of type (default track), event, anonymous_id, user_id,
    source, properties, context, profile_id (writes an EventProfile link), received_at (default ts)."""
    events, links, batches, unprocessed = [], [], {}, set()
    for row in rows:
        ts: datetime = row["ts"]
        received = row.get("received_at", ts)
        source_id = (row.get("source") or source()).pk
        batch = batches.get((source_id, received))
        if batch is None:
            batch = batches[source_id, received] = IngestBatch.objects.create(source_id=source_id,
                                                                              received_at=received)
        batch.event_count += 1
        if row.get("profile_id") is None:
            unprocessed.add(batch.pk)
        payload = {"type": row.get("type", "track"), "properties": row.get("properties", {}),
                   "context": row.get("context", {})}
        events.append(RawEvent(
            received_at=received, source_id=source_id, batch_id=batch.pk,
            message_id=f"m-{next(_ids)}", type=row.get("type", "track"), user_id=row.get("user_id"),
            anonymous_id=row.get("anonymous_id"), event=row.get("event"), timestamp=ts, payload=payload))
    created = RawEvent.objects.bulk_create(events)
    for event, row in zip(created, rows, strict=True):
        if row.get("profile_id") is not None:
            links.append(EventProfile(event_id=event.pk, received_at=event.received_at,
                                      profile_id=row["profile_id"], timestamp=event.timestamp))
    EventProfile.objects.bulk_create(links)
    for batch in batches.values():
        if batch.pk not in unprocessed:
            batch.processed_at, batch.attempts = timezone.now(), 1
        batch.save(update_fields=["event_count", "processed_at", "attempts"])
    return created
