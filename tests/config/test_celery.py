import uuid

import pytest
from django.conf import settings
from django.db import transaction

from config import status
from config.celery import app
from config.queueing import enqueue_on_commit
from config.tasks import probe
from tests.workers import wait_until


def test_celery_is_configured_for_safety():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert {q.name for q in conf.task_queues} == {"default", "ingest", "segments"}
    assert app.amqp.router.route({}, "cdp.anything")["queue"].name == "ingest"
    assert app.amqp.router.route({}, "segments.refresh")["queue"].name == "segments"
    assert app.amqp.router.route({}, "config.tasks.heartbeat")["queue"].name == "default"
    assert "heartbeat" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.django_db
def test_enqueue_by_task_name_runs_the_registered_task_after_commit(django_capture_on_commit_callbacks):
    token = uuid.uuid4().hex
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit("config.tasks.probe", token)
        assert not status.probe_seen(token)
    assert len(callbacks) == 1
    assert status.probe_seen(token)
    with pytest.raises(KeyError):
        enqueue_on_commit("config.tasks.no_such_task", token)


@pytest.mark.worker
def test_real_worker_runs_committed_work_and_never_rolled_back_work(celery_worker_process):
    committed, rolled_back, sentinel = (uuid.uuid4().hex for _ in range(3))

    with transaction.atomic():
        enqueue_on_commit("config.tasks.probe", committed)
        # Not queued yet: the transaction has not committed.
        assert not status.probe_seen(committed)

    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit("config.tasks.probe", rolled_back)
        raise RuntimeError("roll back")

    assert wait_until(lambda: status.probe_seen(committed), timeout=60), "committed task never ran"
    with transaction.atomic():
        enqueue_on_commit(probe, sentinel)
    assert wait_until(lambda: status.probe_seen(sentinel), timeout=60)
    assert not status.probe_seen(rolled_back)


@pytest.mark.worker
def test_heartbeat_sent_through_the_broker_reaches_the_worker(celery_worker_process, client):
    from config.tasks import heartbeat

    status.cache.delete(status.HEARTBEAT_KEY)
    heartbeat.delay()
    assert wait_until(lambda: status.workers_status()["status"] == "ok", timeout=60)


@pytest.mark.worker
def test_worker_processes_keep_their_database_connection_between_tasks(celery_worker_process):
    from django.db import connection

    from cdp.models import IngestBatch
    from cdp.services.ingest import events_ingest
    from tests.cdp.identity_support import msg, source

    def worker_backends() -> set[int]:
        with connection.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
            return {pid for (pid,) in cur.fetchall()}

    def process(anonymous_id: str) -> None:
        batch_id = events_ingest(source=src, messages=[msg("page", anonymousId=anonymous_id)]).batch_id
        assert wait_until(lambda: IngestBatch.objects.get(pk=batch_id).processed_at is not None, timeout=60)

    src = source()
    process("first")
    after_first = worker_backends()
    assert after_first, "the worker closed its connection after the task"
    for n in range(4):
        process(f"more-{n}")
    # The connections that served the first task still serve (no new connection per task).
    assert after_first <= worker_backends()
    assert len(worker_backends()) <= 2  # one per worker process


def test_worker_processes_spare_long_lived_objects_from_the_garbage_collector():
    import gc

    from celery.signals import worker_process_init

    from config.celery import _tune_garbage_collector

    assert any(receiver() is _tune_garbage_collector for _, receiver in worker_process_init.receivers)
    before = gc.get_threshold()
    try:
        _tune_garbage_collector()
        assert gc.get_threshold() == tuple(settings.WORKER_GC_THRESHOLDS)
        assert gc.get_freeze_count() > 10_000  # Django and the app, loaded before the first task
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
