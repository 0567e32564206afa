"""Segment Entered / Segment Exited on the profile's timeline, written through cdp's one ingestion path (the
built-in internal server source), so they show on Customer 360 and on the linked contact's CRM timeline and
other segments can use them like any event."""

from __future__ import annotations

import datetime as dt

from cdp.selectors.segment_sources import internal_source, profile_message_identity
from cdp.services.ingest import events_ingest
from segments.models import Membership, Segment

ENTERED = "Segment Entered"
EXITED = "Segment Exited"
CHUNK = 1000


def _message(segment: Segment, name: str, pid: int, at: dt.datetime, identity: dict) -> dict:
    return {
        "type": "track", "event": name, "messageId": f"segment-{segment.pk}-{pid}-{name[8:].lower()}-{at.isoformat()}",
        "timestamp": at.isoformat(), **identity,
        "properties": {"segment_id": segment.pk, "segment_name": segment.name, "profile_id": pid},
    }


def timeline_events_write(*, segment_id: int, at: dt.datetime) -> int:
    """Ingest one event per membership of ``segment_id`` that began or ended at ``at`` (a refresh's moment);
    returns how many were accepted. Idempotent: message ids are derived from (segment, profile, kind, at)."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return 0
    accepted = 0
    source = internal_source()
    for name, lookup in ((ENTERED, {"entered_at": at}), (EXITED, {"exited_at": at})):
        ids = list(Membership.objects.filter(segment_id=segment_id, **lookup).values_list("profile_id", flat=True))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            identities = profile_message_identity(chunk)
            messages = [_message(segment, name, pid, at, identities[pid]) for pid in chunk if pid in identities]
            if messages:
                accepted += events_ingest(source=source, messages=messages).accepted
    return accepted
