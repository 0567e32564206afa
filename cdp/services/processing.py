"""Processing of a stored batch: identity resolution, traits and computed traits (cdp.services.identity)."""

from __future__ import annotations

from cdp.services.identity_batches import identity_batch_process


def batch_process(*, batch_id: int) -> None:
    """Process the events of batch ``batch_id`` (with other waiting batches of its source) and mark them
    processed. Idempotent: a processed batch is left alone, an unknown id is ignored. A worker killed half-way
    leaves the batch unprocessed and the sweep re-queues it."""
    identity_batch_process(batch_id=batch_id)
