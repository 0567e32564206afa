"""Processing of stored batches: identity resolution, traits and computed traits (cdp.services.identity).

Ingestion queues processing coalesced (config.queueing): a task is published only while none is waiting, and
the task, once started, takes every batch waiting, so a busy collection API publishes a few tasks a second
instead of one per request, and workers do not start tasks whose batch another worker already took along.
"""

from __future__ import annotations

import time

from django.conf import settings

from cdp.services.identity_batches import batch_waiting_next, identity_batch_process
from config.queueing import coalesced_task_started, enqueue_coalesced_on_commit

# The queue key of batch processing (see config.queueing's coalesced queueing).
PROCESS_QUEUE_KEY = "cdp.batch_process"
PROCESS_TASK = "cdp.tasks.batch_process"


def batch_process(*, batch_id: int) -> None:
    """Process the events of batch ``batch_id`` (with other waiting batches of its source) and mark them
    processed. Idempotent: a processed batch is left alone, an unknown id is ignored. A worker killed half-way
    leaves the batch unprocessed and the sweep re-queues it."""
    identity_batch_process(batch_id=batch_id)


def batch_processing_queue(*, batch_id: int) -> None:
    """Queue processing for a batch stored in the current transaction (after commit, coalesced)."""
    enqueue_coalesced_on_commit(PROCESS_TASK, batch_id, key=PROCESS_QUEUE_KEY)


def batches_process_waiting(*, batch_id: int, seconds: float | None = None) -> int:
    """What the processing task does: mark the task started (batches stored from now on queue a new task), then
    process batch ``batch_id`` and every batch still waiting that no other worker holds, oldest first, for up to
    ``seconds`` (CDP_PROCESS_TASK_SECONDS); if time runs out with batches left, queue a continuation. Returns how
    many claims were made. Each batch is tried at most once per task (one that stays unprocessed waits for a
    later task or the sweep)."""
    coalesced_task_started(PROCESS_QUEUE_KEY)
    deadline = time.monotonic() + (settings.CDP_PROCESS_TASK_SECONDS if seconds is None else seconds)
    tried = [batch_id]
    identity_batch_process(batch_id=batch_id)
    while (next_id := batch_waiting_next(exclude=tried)) is not None:
        if time.monotonic() >= deadline:
            batch_processing_queue(batch_id=next_id)
            break
        tried.append(next_id)
        identity_batch_process(batch_id=next_id)
    return len(tried)
