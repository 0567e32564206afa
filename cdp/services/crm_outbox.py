"""The CRM as a source: drain crm's outbox into the one ingestion path as events of the built-in CRM source."""

from __future__ import annotations

import logging

from django.db import connection, transaction

from cdp.services.ingest import events_ingest
from cdp.services.sources import crm_source
from crm.services.outbox import outbox_mark_processed, outbox_pending

logger = logging.getLogger(__name__)

# pg advisory lock key ("crm outbox"): one drainer at a time keeps the events in outbox order.
DRAIN_LOCK_KEY = 0x63726D6F


def crm_outbox_drain(*, limit: int = 1000) -> int:
    """Ingest up to ``limit`` pending CRM outbox entries, oldest first; returns how many were drained.

    One transaction: lock the entries (``SELECT ... FOR UPDATE SKIP LOCKED`` in id order), ingest their
    messages through ``events_ingest`` (source ``crm``), mark them processed. Either all of it commits or
    none, so an entry is never marked without its event stored, and processing is queued only after commit.
    A transaction-level advisory lock makes concurrent drainers wait their turn instead of interleaving
    (which would reorder a record's changes); a drainer that cannot get it returns 0 at once. Messages carry
    ``messageId = crm-<entry id>``, so even a replayed entry is stored once (dedupe on source + messageId).
    Messages the validation refuses are recorded as rejected messages and still marked processed:
    re-draining cannot fix them. While the CRM source is disabled nothing is drained (entries wait).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [DRAIN_LOCK_KEY])
            (locked,) = cursor.fetchone()
        if not locked:
            return 0
        source = crm_source()
        if not source.enabled:
            return 0  # collection of CRM changes is switched off: entries wait, nothing is lost
        entries = list(outbox_pending(limit=limit).select_for_update(skip_locked=True).only("id", "message"))
        if not entries:
            return 0
        result = events_ingest(source=source, messages=[entry.message for entry in entries])
        for rejection in result.rejected:
            logger.warning("CRM outbox message %s rejected: %s %s", rejection.message_id, rejection.error,
                           rejection.detail)
        outbox_mark_processed(ids=[entry.pk for entry in entries])
    return len(entries)


DRAIN_LIMIT = 1000
DRAIN_MAX_ROUNDS = 20


def crm_outbox_drain_rounds(*, limit: int = DRAIN_LIMIT, max_rounds: int = DRAIN_MAX_ROUNDS) -> int:
    """Drain in rounds of ``limit`` while full rounds come back, at most ``max_rounds``; returns the total."""
    total = 0
    for _ in range(max_rounds):
        drained = crm_outbox_drain(limit=limit)
        total += drained
        if drained < limit:
            break
    return total
