"""Coalesced processing: ingestion publishes a processing task only while none is waiting, and a task takes
every batch waiting when it starts, so nothing is left behind."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from cdp.models import IngestBatch
from cdp.services.ingest import events_ingest
from cdp.services.processing import PROCESS_QUEUE_KEY, batches_process_waiting
from config.queueing import _KEY_PREFIX, _redis
from tests.cdp.collect_support import make_source, track

# on_commit must fire (the publish happens after commit); Celery runs eagerly in these tests.
pytestmark = pytest.mark.django_db(transaction=True)
KEY = _KEY_PREFIX + PROCESS_QUEUE_KEY


@pytest.fixture(autouse=True)
def no_waiting_task():
    _redis().delete(KEY)
    yield
    _redis().delete(KEY)


def _unprocessed(source) -> int:
    return IngestBatch.objects.filter(source=source, processed_at__isnull=True).count()


def test_no_task_is_published_while_one_is_waiting_and_the_task_takes_every_waiting_batch():
    assert django_settings.CELERY_TASK_ALWAYS_EAGER  # a published task runs at once: unprocessed means not published
    source = make_source()
    _redis().set(KEY, b"1", px=30_000)  # a task has been queued and has not started yet
    first = events_ingest(source=source, messages=[track(1)]).batch_id
    for n in range(2, 6):
        events_ingest(source=source, messages=[track(n)])
    assert _unprocessed(source) == 5
    assert 0 < _redis().pttl(KEY) <= 30_000  # expires by itself if that task is lost

    batches_process_waiting(batch_id=first)  # the waiting task starts
    assert _unprocessed(source) == 0
    assert not _redis().exists(KEY)  # work stored from now on publishes again
    events_ingest(source=source, messages=[track(9)])
    assert _unprocessed(source) == 0


def test_a_task_out_of_time_queues_its_continuation(settings):
    source = make_source()
    _redis().set(KEY, b"1", px=30_000)
    ids = [events_ingest(source=source, messages=[track(n)]).batch_id for n in range(3)]
    # CDP_PROCESS_MAX_EVENTS of 1 event: each claim takes one batch, and no time is left after the first.
    settings.CDP_PROCESS_MAX_EVENTS = 1
    assert batches_process_waiting(batch_id=ids[0], seconds=0) == 1
    assert _unprocessed(source) == 0  # the continuation (run eagerly here) took the rest


def test_without_redis_every_batch_publishes(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    source = make_source()
    for n in range(3):
        events_ingest(source=source, messages=[track(n)])
    assert _unprocessed(source) == 0
