"""Collected events: one IngestBatch per accepted request, append-only RawEvent rows (partitioned by day),
the profile each event belongs to (EventProfile), the dedupe index on (source, messageId) and the rejected
messages kept for inspection."""

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q

from cdp.models.sources import Source

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")


class IngestBatch(models.Model):
    """One accepted request or import chunk; processing works per batch (processed_at null until then)."""

    # No index of its own: (source, received_at) below covers lookups by source.
    source = models.ForeignKey(Source, on_delete=models.PROTECT, db_index=False, related_name="batches")
    received_at = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["source", "received_at"], name="cdp_batch_source_recv"),
            models.Index(fields=["received_at"], condition=Q(processed_at__isnull=True), name="cdp_batch_unprocessed"),
        ]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.event_count} events)"


class RawEvent(models.Model):
    """An accepted message, append-only.

    The table is natively partitioned by RANGE(received_at) (daily partitions plus a DEFAULT partition); its
    DDL lives in a RunSQL migration, this model is its Django state. The database primary key is
    (id, received_at); ``id`` alone comes from a sequence and is unique in practice.
    """

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField()
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="raw_events"
    )
    batch = models.ForeignKey(
        IngestBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="events"
    )
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=16)
    user_id = models.TextField(null=True, blank=True)
    anonymous_id = models.TextField(null=True, blank=True)
    event = models.TextField(null=True, blank=True)
    timestamp = models.DateTimeField()
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    future_timestamp = models.BooleanField(default=False)
    payload = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["source", "-received_at"], name="cdp_raw_source_recv"),
            # Segments count a profile's events by name over a time window (cdp.selectors.segment_sources); the
            # included columns join EventProfile without visiting the wide rows.
            models.Index(fields=["event", "timestamp"], include=["id", "received_at"], name="cdp_raw_event_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class EventProfile(models.Model):
    """The profile an event belongs to: written by identity resolution, moved by merges and splits.

    Kept apart from the event itself so the event row stays append-only: assigning or moving an event writes
    this narrow row instead of a new version of the wide, partitioned one. ``received_at`` locates the event's
    partition (``event`` joins on both columns); ``timestamp`` is the event's, for a profile's newest events.
    """

    event_id = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField()
    profile_id = models.BigIntegerField()
    timestamp = models.DateTimeField()
    # The event's name (RawEvent.event), copied so that "how often did each profile do E lately" reads this table
    # alone, by the (event_name, timestamp) index: segments' event counts over millions of events. Identity
    # resolution writes it ('' for events without a name); a row inserted without it (NULL) gets it from its
    # event by the cdp_eventprofile_name trigger (migration 0015), so every writer keeps it right.
    event_name = models.TextField(null=True, blank=True)
    event = models.ForeignObject(
        RawEvent, on_delete=models.DO_NOTHING, from_fields=["event_id", "received_at"], to_fields=["id", "received_at"],
        related_name="profile_links",
    )

    class Meta:
        indexes = [
            models.Index(fields=["profile_id", "-timestamp", "-event_id"], name="cdp_evprof_profile_ts"),
            # Retention deletes the rows of dropped partitions; rows arrive roughly in received_at order.
            BrinIndex(fields=["received_at"], name="cdp_evprof_recv_brin"),
            models.Index(fields=["event_name", "timestamp"], include=["profile_id"], name="cdp_evprof_name_ts"),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → profile {self.profile_id}"


class MessageDedupe(models.Model):
    """(source, messageId) seen within the dedupe window. Inserted with ON CONFLICT DO NOTHING in the same
    transaction as the RawEvent rows; pruned after CDP_DEDUPE_WINDOW_DAYS (BRIN index on received_at)."""

    pk = models.CompositePrimaryKey("source", "message_id")
    # No index of its own: the primary key (source, message_id) covers lookups by source.
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [BrinIndex(fields=["received_at"], name="cdp_dedupe_recv_brin")]

    def __str__(self) -> str:
        return self.message_id


class RejectedMessage(models.Model):
    """A message (or whole request) refused by validation, kept CDP_REJECTED_RETENTION_HOURS for inspection."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="rejected_messages")
    received_at = models.DateTimeField()
    message_id = models.CharField(max_length=200, blank=True, default="")
    error = models.CharField(max_length=40)
    detail = models.TextField(blank=True, default="")
    payload = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["source", "-received_at"], name="cdp_rejected_source_recv"),
            models.Index(fields=["received_at"], name="cdp_rejected_recv"),
        ]

    def __str__(self) -> str:
        return f"{self.error}: {self.detail[:60]}"
