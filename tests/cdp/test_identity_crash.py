"""A batch interrupted half-way leaves nothing behind and is redone exactly once in effect."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import psycopg
import pytest
from django.db import DatabaseError, connection

from cdp.models import ComputedTrait, Identifier, IngestBatch, Profile, RawEvent
from cdp.services.identity_locks import lock_key
from cdp.services.ingest import batches_requeue_stale, events_ingest
from cdp.services.processing import batch_process
from tests import workers
from tests.cdp.identity_support import dangling_links, msg, profile_of, source
from tests.workers import WorkerProcess, wait_until


def _messages():
    return [msg("track", minute=0, anonymousId="crash-dev", event="Clicked"),
            msg("track", minute=1, anonymousId="crash-dev", event="Clicked"),
            msg("identify", minute=2, anonymousId="crash-dev", userId="crash-user", traits={"plan": "pro"})]


def _nothing_written():
    return (not Identifier.objects.exists() and not Profile.objects.exists()
            and not RawEvent.objects.filter(profile_links__isnull=False).exists())


@pytest.mark.django_db
def test_failure_at_the_last_step_rolls_back_everything_then_a_retry_counts_once():
    ComputedTrait.objects.create(key="clicks", name="Clicks", aggregate="count", event_name="Clicked")
    result = events_ingest(source=source(), messages=_messages())
    with connection.cursor() as cur:  # the very last write of a batch fails
        cur.execute("""
            CREATE FUNCTION test_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail BEFORE UPDATE ON cdp_ingestbatch FOR EACH ROW EXECUTE FUNCTION test_fail();
        """)
    with pytest.raises(DatabaseError):
        batch_process(batch_id=result.batch_id)
    assert _nothing_written()
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER test_fail ON cdp_ingestbatch; DROP FUNCTION test_fail();")
    batch_process(batch_id=result.batch_id)
    batch_process(batch_id=result.batch_id)
    p = profile_of("user_id", "crash-user")
    assert p.computed["clicks"] == 2 and p.traits == {"plan": "pro"}
    assert set(RawEvent.objects.values_list("profile_links__profile_id", flat=True)) == {p.pk}


def _kill_tree(worker: WorkerProcess) -> None:
    """SIGKILL the worker's pool children and then the worker itself (a crash, no clean shutdown)."""
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(worker.proc.pid)], capture_output=True,
                              text=True).stdout.split()
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)
    worker.kill()


@pytest.mark.worker
def test_worker_killed_mid_batch_leaves_nothing_and_the_sweep_redoes_it(celery_worker_process):
    ComputedTrait.objects.create(key="clicks", name="Clicks", aggregate="count", event_name="Clicked")
    blocker = psycopg.connect(workers.worker_database_url(), autocommit=True)
    try:
        # Hold the lock of one of the batch's identifiers, so the worker stops half-way through the batch.
        blocker.execute("SELECT pg_advisory_lock(%s)", [lock_key(("user_id", "crash-user"))])
        result = events_ingest(source=source(), messages=_messages())

        def waiting():
            row = blocker.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            return row.fetchone()[0] > 0

        assert wait_until(waiting, timeout=30)
        _kill_tree(celery_worker_process)
        blocker.execute("SELECT pg_advisory_unlock_all()")
    finally:
        blocker.close()
    assert wait_until(lambda: not waiting_backends(), timeout=10)
    assert IngestBatch.objects.get(pk=result.batch_id).processed_at is None
    assert _nothing_written()

    # The killed worker's backend lets go of the batch row once it notices its client is gone; until then the
    # sweep skips the locked row.
    assert wait_until(lambda: batches_requeue_stale(older_than=timedelta(0)) == [result.batch_id], timeout=10)
    second = WorkerProcess(name="w3").start()
    try:
        assert wait_until(lambda: IngestBatch.objects.get(pk=result.batch_id).processed_at is not None, timeout=30)
    finally:
        second.stop()
    p = profile_of("user_id", "crash-user")
    assert p.computed["clicks"] == 2
    assert Profile.objects.count() == 1
    assert dangling_links() == []


def waiting_backends() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cur.fetchone()[0] > 0
