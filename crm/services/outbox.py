"""The CRM outbox: record a change as a Segment-spec message; the CDP drains it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.models import OutboxEntry


def outbox_record(*, object_type: str, object_id: int, message: dict[str, Any]) -> OutboxEntry:
    """Record ``message`` for the change of one CRM record. Call inside the transaction that made the change.

    ``message`` follows Segment's spec; ``messageId`` is set to ``crm-<outbox id>`` so re-draining is idempotent.
    """
    return outbox_record_many(object_type=object_type, items=[(object_id, message)])[0]


def outbox_record_many(*, object_type: str, items: list[tuple[int, dict[str, Any]]]) -> list[OutboxEntry]:
    """Set-based ``outbox_record`` for many ``(object_id, message)`` pairs, in two queries whatever the count.

    The ids are drawn from the sequence first, so every message is written once, already carrying its
    ``messageId`` (``crm-<id>``) and ``timestamp``. Ids stay in the order of ``items``.
    """
    if not items:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [OutboxEntry._meta.db_table, len(items)])
        ids = sorted(row[0] for row in cursor.fetchall())
    now = timezone.now()
    return OutboxEntry.objects.bulk_create([
        OutboxEntry(id=entry_id, object_type=object_type, object_id=object_id,
                    message={**message, "messageId": f"crm-{entry_id}",
                             "timestamp": message.get("timestamp") or now.isoformat()})
        for entry_id, (object_id, message) in zip(ids, items, strict=True)
    ], batch_size=1000)


def outbox_pending(*, limit: int = 1000) -> QuerySet[OutboxEntry]:
    """Unprocessed entries, oldest first. The caller should lock them (``select_for_update(skip_locked=True)``)."""
    return OutboxEntry.objects.filter(processed_at__isnull=True).order_by("id")[:limit]


@transaction.atomic
def outbox_mark_processed(*, ids: Iterable[int]) -> int:
    return OutboxEntry.objects.filter(pk__in=list(ids), processed_at__isnull=True).update(processed_at=timezone.now())
