"""Project-wide periodic tasks (heartbeat for the status page, housekeeping)."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from config import status


@shared_task(name="config.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Sent by beat, run by a worker: proves both are alive (read by /healthz and the status page)."""
    status.heartbeat_record()


@shared_task(name="config.tasks.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions() -> None:
    call_command("clearsessions")


@shared_task(name="config.tasks.probe", ignore_result=True)
def probe(token: str) -> None:
    """Marks ``token`` as seen in Redis; used to prove the worker runs what was committed."""
    status.probe_record(token)
