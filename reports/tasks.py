"""Periodic report work: event roll-ups and the weekly digests."""

from __future__ import annotations

from celery import shared_task

from reports.services.rollups import event_rollups_refresh


@shared_task(name="reports.event_rollups_refresh", ignore_result=True)
def event_rollups_refresh_task() -> None:
    event_rollups_refresh()
