"""The CRM outbox: record a change as a Segment-spec message; the CDP drains it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.models import OutboxEntry


def outbox_record(*, object_type: str, object_id: int, message: dict[str, Any]) -> OutboxEntry:
    """Record ``message`` for the change of one CRM record. Call inside the transaction that made the change.

    ``message`` follows Segment's spec; ``messageId`` is set to ``crm-<outbox id>`` so re-draining is idempotent.
    """
    entry = OutboxEntry.objects.create(object_type=object_type, object_id=object_id, message=message)
    entry.message = {**message, "messageId": f"crm-{entry.pk}",
                     "timestamp": message.get("timestamp") or entry.created_at.isoformat()}
    entry.save(update_fields=["message"])
    return entry


def outbox_record_many(*, object_type: str, items: list[tuple[int, dict[str, Any]]]) -> list[OutboxEntry]:
    """Set-based ``outbox_record`` for many ``(object_id, message)`` pairs: two queries whatever the count."""
    if not items:
        return []
    entries = OutboxEntry.objects.bulk_create(
        [OutboxEntry(object_type=object_type, object_id=object_id, message=message) for object_id, message in items]
    )
    for entry in entries:
        entry.message = {**entry.message, "messageId": f"crm-{entry.pk}",
                         "timestamp": entry.message.get("timestamp") or entry.created_at.isoformat()}
    OutboxEntry.objects.bulk_update(entries, ["message"], batch_size=1000)
    return entries


def outbox_pending(*, limit: int = 1000) -> QuerySet[OutboxEntry]:
    """Unprocessed entries, oldest first. The caller should lock them (``select_for_update(skip_locked=True)``)."""
    return OutboxEntry.objects.filter(processed_at__isnull=True).order_by("id")[:limit]


@transaction.atomic
def outbox_mark_processed(*, ids: Iterable[int]) -> int:
    return OutboxEntry.objects.filter(pk__in=list(ids), processed_at__isnull=True).update(processed_at=timezone.now())
