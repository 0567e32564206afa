"""Celery tasks of the CRM: thin wrappers that take ids and call one service."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from config.queueing import enqueue_on_commit
from crm.services.duplicates import duplicates_scan
from crm.services.imports import import_job_run
from crm.services.reminders import task_reminders_send


@shared_task(name="crm.import_run", ignore_result=True, acks_late=True)
def import_run(job_id: int) -> None:
    """Run an import job for a while; queue the next run while rows remain (the job row is the resume point)."""
    if import_job_run(job_id=job_id):
        enqueue_on_commit(import_run, job_id)


@shared_task(name="crm.duplicates_scan", ignore_result=True)
def duplicates_scan_run(requested_at: str | None = None) -> None:
    """Re-scan contacts for likely duplicates unless a scan started after ``requested_at`` (ISO 8601)."""
    duplicates_scan(requested_at=datetime.fromisoformat(requested_at) if requested_at else None)


@shared_task(name="crm.task_reminders_send", ignore_result=True)
def task_reminders_send_run() -> None:
    """E-mail the task reminders that are due (beat runs this every minute; safe to run concurrently)."""
    task_reminders_send()


@shared_task(name="crm.tickets_sla_sweep", ignore_result=True)
def tickets_sla_sweep_run() -> None:
    """Mark SLA breaches and send warnings (beat, every minute; safe to run concurrently)."""
    from crm.services.tickets_sweep import tickets_sla_sweep

    tickets_sla_sweep()


@shared_task(name="crm.ticket_reply_mail_send", ignore_result=True, autoretry_for=(OSError,), retry_backoff=30,
             max_retries=5)
def ticket_reply_mail_send(entry_id: int) -> None:
    """Mail an agent's public reply to the requester (queued after the reply commits)."""
    from crm.services.tickets_mail import reply_mail_send

    reply_mail_send(entry_id=entry_id)


@shared_task(name="crm.ticket_csat_request_send", ignore_result=True, autoretry_for=(OSError,), retry_backoff=30,
             max_retries=5)
def ticket_csat_request_send(ticket_id: int) -> None:
    """Mail the requester of a solved ticket the link to rate it."""
    from crm.services.tickets_csat import csat_request_send

    csat_request_send(ticket_id=ticket_id)
