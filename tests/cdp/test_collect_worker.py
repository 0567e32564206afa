"""The collection pipeline with a real Celery worker process and real Redis: accepted over HTTP, processed by
the worker; a batch whose enqueue was lost is found by the sweep (sent through the broker) and processed."""

from __future__ import annotations

import base64
import http.client
from datetime import timedelta
from urllib.parse import urlsplit

import orjson
import pytest
from django.utils import timezone

from cdp.models import IngestBatch, RawEvent
from cdp.services.ingest import events_ingest
from cdp.tasks import batches_sweep
from tests.cdp.collect_support import make_source, track
from tests.workers import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_http_batch_is_processed_by_the_worker(celery_worker_process, live_server):
    source = make_source()
    parts = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    auth = base64.b64encode(f"{source.write_key}:".encode()).decode()
    conn.request("POST", "/v1/batch", orjson.dumps({"batch": [track(1), track(2)]}),
                 {"Content-Type": "application/json", "Authorization": f"Basic {auth}"})
    response = conn.getresponse()
    assert response.status == 200 and orjson.loads(response.read())["accepted"] == 2
    conn.close()
    # 200 means committed: the rows are there before any processing.
    assert RawEvent.objects.filter(source=source).count() == 2
    batch = IngestBatch.objects.get(source=source)
    assert wait_until(lambda: IngestBatch.objects.get(pk=batch.pk).processed_at is not None, timeout=30)


def test_lost_enqueue_is_recovered_by_the_sweep_through_the_broker(celery_worker_process):
    source = make_source()
    old = timezone.now() - timedelta(minutes=10)
    # Committed events whose processing message never reached Redis (as if Redis was down at the time).
    from django.db import transaction

    with transaction.atomic():
        result = events_ingest(source=source, messages=[track(1)], received_at=old)
        transaction.get_connection().run_on_commit.clear()  # drop the queued message: the "lost enqueue"
    assert IngestBatch.objects.get(pk=result.batch_id).processed_at is None
    batches_sweep.delay()
    assert wait_until(lambda: IngestBatch.objects.get(pk=result.batch_id).processed_at is not None, timeout=30)
    assert IngestBatch.objects.get(pk=result.batch_id).requeued_at is not None
