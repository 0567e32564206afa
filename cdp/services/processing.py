"""Processing of a stored batch: identity resolution, traits and computed traits (cdp.services.identity)."""

from __future__ import annotations

from cdp.services.identity import identity_batch_process


def batch_process(*, batch_id: int) -> None:
    """Process the events of batch ``batch_id`` and mark it processed. Idempotent: a processed batch is left
    alone, an unknown id is ignored. One transaction per batch: a worker killed half-way leaves nothing and the
    sweep re-queues the batch."""
    identity_batch_process(batch_id=batch_id)
