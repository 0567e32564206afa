"""Celery tasks of the CDP: take ids, call one service. Every task name starts with "cdp." so it is routed to
the "ingest" queue (CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cdp.services import computed_traits, ingest, processing, retention
from cdp.services.crm_outbox import crm_outbox_drain_rounds
from cdp.services.imports import event_import_step


@shared_task(
    name="cdp.tasks.batch_process",
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def batch_process(batch_id: int) -> None:
    """Process a stored batch and the batches waiting with it (idempotent; the sweep re-queues what this never
    reaches)."""
    processing.batches_process_waiting(batch_id=batch_id)


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


@shared_task(name="cdp.tasks.computed_trait_recompute", ignore_result=True)
def computed_trait_recompute_task(trait_id: int) -> int:
    """Rebuild one computed trait for every profile from the events (safe to run twice)."""
    return computed_traits.computed_trait_recompute(trait_id=trait_id)


@shared_task(name="cdp.tasks.computed_traits_recompute_all", ignore_result=True)
def computed_traits_recompute_all_task() -> int:
    """Nightly: rebuild every enabled computed trait (refreshes windows as days pass)."""
    return computed_traits.computed_traits_recompute_all()


@shared_task(name="cdp.crm_outbox_drain", ignore_result=True)
def crm_outbox_drain_task() -> int:
    """Drain the CRM outbox (beat runs this every few seconds); keeps going while full rounds come back."""
    return crm_outbox_drain_rounds()


@shared_task(name="cdp.event_import_run", ignore_result=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, max_retries=10)
def event_import_run_task(import_id: int) -> None:
    """Run an import for a while; the service queues the rest as a new task."""
    event_import_step(import_id=import_id)
