"""The same event set, fed in random orders and batchings to real Celery worker processes (two prefork
children each, two workers) gives the same partition of identifiers as one in-process worker."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.models import IngestBatch
from cdp.services.ingest import events_ingest
from tests.cdp.identity_support import dangling_links, partition, source
from tests.workers import WorkerProcess, wait_until

pytestmark = [pytest.mark.worker]

TABLES = ("cdp_identifier", "cdp_profilemerge", "cdp_refusedmerge", "cdp_identifiersplit", "cdp_rawevent",
          "cdp_messagededupe", "cdp_ingestbatch", "cdp_profile", "cdp_account", "cdp_eventprofile")


def _wipe():
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")


@st.composite
def people_events(draw):
    """Messages of several people without limit conflicts (no shared devices, one user id each)."""
    n = draw(st.integers(2, 5))
    messages = []
    minute = 0
    for p in range(n):
        devices = draw(st.integers(1, 3))
        email = f"p{p}@ex.io" if draw(st.booleans()) else None
        for d in range(devices):
            anon = f"dev-{p}-{d}"
            for _ in range(draw(st.integers(0, 2))):
                minute += 1
                messages.append({"type": "page", "name": "Home", "anonymousId": anon, "minute": minute})
            how = draw(st.sampled_from(["login", "email", "none"] if email else ["login", "none"]))
            minute += 1
            if how == "login":
                messages.append({"type": "identify", "userId": f"u{p}", "anonymousId": anon, "minute": minute,
                                 "traits": {"email": email.upper()} if email else {}})
            elif how == "email":
                messages.append({"type": "identify", "anonymousId": anon, "minute": minute,
                                 "traits": {"email": f"  {email} "}})
        if draw(st.booleans()):
            minute += 1
            messages.append({"type": "alias", "previousId": f"old-{p}", "userId": f"u{p}", "minute": minute})
    for i, m in enumerate(messages):
        m["messageId"] = f"h-{i}"
        m["timestamp"] = f"2026-11-01T10:{m.pop('minute') % 60:02d}:00Z"
    order = draw(st.permutations(list(range(len(messages)))))
    cuts = draw(st.lists(st.integers(1, max(1, len(messages) - 1)), max_size=6, unique=True))
    return messages, order, sorted(cuts)


def _chunks(items, cuts):
    start = 0
    for cut in [*cuts, len(items)]:
        if cut > start:
            yield items[start:cut]
            start = cut


@pytest.fixture
def second_worker(celery_worker_process):
    worker = WorkerProcess(name="w2").start()
    yield worker
    worker.stop()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=people_events())
def test_parallel_workers_give_the_single_worker_partition(celery_worker_process, second_worker, data):
    from config.celery import app

    messages, order, cuts = data
    # Reference: one worker, in this process (eager), the original order, one batch per message.
    _wipe()
    src = source()
    app.conf.task_always_eager = True
    try:
        for m in messages:
            events_ingest(source=src, messages=[m])
    finally:
        app.conf.task_always_eager = False
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    expected = partition()
    assert dangling_links() == []
    # Ground truth: a group never holds identifiers of two people.
    for group in expected:
        owners = {v.split("-")[1] for t, v in group if t in ("anonymous_id",)} | {
            v.removeprefix("old-").removeprefix("u") for t, v in group if t == "user_id"}
        assert len(owners) <= 1, group

    # Two worker processes (two prefork children each): random order and batching, all queued at once.
    _wipe()
    src = source()
    shuffled = [messages[i] for i in order]
    for chunk in _chunks(shuffled, cuts):
        events_ingest(source=src, messages=chunk)
    assert wait_until(lambda: not IngestBatch.objects.filter(processed_at__isnull=True).exists(), timeout=60)
    assert partition() == expected
    assert dangling_links() == []
