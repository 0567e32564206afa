"""Celery tasks of the other ways in (CRM outbox drain, bulk imports). Imported by cdp/tasks.py."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.imports import event_import_fail, event_import_run
from config.queueing import enqueue_on_commit

DRAIN_LIMIT = 1000
DRAIN_MAX_ROUNDS = 20


@shared_task(name="cdp.crm_outbox_drain", ignore_result=True)
def crm_outbox_drain_task() -> int:
    """Drain the CRM outbox (beat runs this every few seconds); keeps going while full rounds come back."""
    total = 0
    for _ in range(DRAIN_MAX_ROUNDS):
        drained = crm_outbox_drain(limit=DRAIN_LIMIT)
        total += drained
        if drained < DRAIN_LIMIT:
            break
    return total


IMPORT_CHUNKS_PER_TASK = 200


@shared_task(name="cdp.event_import_run", ignore_result=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, max_retries=10)
def event_import_run_task(import_id: int) -> None:
    """Run an import for a while, then queue the rest as a new task (short tasks, resumable from the watermark)."""
    try:
        finished = event_import_run(import_id=import_id, max_chunks=IMPORT_CHUNKS_PER_TASK)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        event_import_fail(import_id=import_id, reason=f"{type(exc).__name__}: {exc}")
        raise
    if not finished:
        enqueue_on_commit(event_import_run_task, import_id)
