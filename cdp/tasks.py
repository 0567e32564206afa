"""Celery tasks of the CDP: take ids, call one service. Every task name starts with "cdp." so it is routed to
the "ingest" queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cdp.services import ingest, processing, retention


@shared_task(
    name="cdp.tasks.batch_process",
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def batch_process(batch_id: int) -> None:
    """Process one stored batch (idempotent; the sweep re-queues it if this never runs)."""
    processing.batch_process(batch_id=batch_id)


@shared_task(name="cdp.tasks.batches_sweep", ignore_result=True)
def batches_sweep() -> int:
    """Re-queue batches committed but still unprocessed after CDP_SWEEP_AFTER_SECONDS (lost enqueue, dead worker)."""
    return len(ingest.batches_requeue_stale())


@shared_task(name="cdp.tasks.partitions_maintain", ignore_result=True)
def partitions_maintain() -> dict:
    report = retention.partitions_maintain()
    return {"created": report.created, "dropped": report.dropped, "skipped": report.skipped}


@shared_task(name="cdp.tasks.dedupe_prune", ignore_result=True)
def dedupe_prune() -> int:
    return retention.dedupe_prune()


@shared_task(name="cdp.tasks.rejected_prune", ignore_result=True)
def rejected_prune() -> int:
    return retention.rejected_prune()


from cdp.tasks_identity import computed_trait_recompute_task, computed_traits_recompute_all_task  # noqa: E402,F401
from cdp.tasks_waysin import crm_outbox_drain_task, event_import_run_task  # noqa: E402,F401
