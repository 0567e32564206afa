"""Concurrent replays store each messageId once: over HTTP against a live server, and with several database
connections calling events_ingest at the same moment."""

from __future__ import annotations

import base64
import http.client
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import orjson
import pytest
from django.db import connections

from cdp.models import IngestBatch, MessageDedupe, RawEvent
from cdp.services.ingest import events_ingest
from tests.cdp.collect_support import make_source, track

pytestmark = pytest.mark.django_db(transaction=True)


def _post(url: str, key: str, payload: dict) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    auth = base64.b64encode(f"{key}:".encode()).decode()
    conn.request("POST", "/v1/batch", orjson.dumps(payload),
                 {"Content-Type": "application/json", "Authorization": f"Basic {auth}"})
    response = conn.getresponse()
    data = orjson.loads(response.read())
    conn.close()
    return response.status, data


def test_concurrent_http_replays_store_each_message_once(live_server):
    source = make_source()
    payload = {"batch": [track(i) for i in range(40)]}
    barrier = threading.Barrier(8)

    def replay(_):
        barrier.wait()
        return _post(live_server.url, source.write_key, payload)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(replay, range(8)))
    assert all(status == 200 for status, _ in results)
    assert all(data["accepted"] == 40 for _, data in results)
    assert RawEvent.objects.filter(source=source).count() == 40
    assert RawEvent.objects.values("message_id").distinct().count() == 40
    assert sum(IngestBatch.objects.values_list("event_count", flat=True)) == 40


def test_overlapping_concurrent_ingests_on_separate_connections():
    source = make_source()
    # Overlapping sets in different orders: sorted dedupe inserts must neither deadlock nor double-store.
    batches = [[track(i) for i in range(start, start + 60)][::direction]
               for start in (0, 20, 40, 0, 30, 10) for direction in (1, -1)]
    barrier = threading.Barrier(len(batches))

    def run(messages):
        try:
            barrier.wait()
            return events_ingest(source=source, messages=messages)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(batches)) as pool:
        results = list(pool.map(run, batches))
    assert sum(r.accepted for r in results) == 100
    assert all(r.accepted + r.duplicates == 60 for r in results)
    assert RawEvent.objects.filter(source=source).count() == 100
    assert MessageDedupe.objects.filter(source=source).count() == 100
