"""Periodic report work: event roll-ups, web touches and the weekly digests."""

from __future__ import annotations

from celery import shared_task

from reports.services.digests import digest_send, digests_due
from reports.services.rollups import event_rollups_refresh
from reports.services.touches import touches_refresh


@shared_task(name="reports.event_rollups_refresh", ignore_result=True)
def event_rollups_refresh_task() -> None:
    event_rollups_refresh()
    touches_refresh()


@shared_task(name="reports.digests_send_weekly", ignore_result=True)
def digests_send_weekly_task() -> None:
    for subscription_id in digests_due():
        digest_send_task.delay(subscription_id)


@shared_task(name="reports.digest_send", ignore_result=True, autoretry_for=(OSError,), retry_backoff=60,
             max_retries=5)
def digest_send_task(subscription_id: int) -> None:
    digest_send(subscription_id=subscription_id)
