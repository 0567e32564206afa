"""The one way services queue Celery work: by task name, after the surrounding transaction commits.

Services name the task ("cdp.tasks.batch_process") instead of importing it, so a service never imports a tasks
module (tasks import services; the other direction would be a cycle).
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

from config.celery import app

_import_lock = threading.Lock()


def task_by_name(name: str) -> Task:
    """The registered task called ``name``; loads the apps' tasks modules on first use. Raises KeyError."""
    try:
        return app.tasks[name]
    except KeyError:
        # Outside a worker the tasks modules are imported on demand: autodiscovery runs with the default modules.
        # One thread at a time (a threaded server): another thread must not look while the modules load.
        with _import_lock:
            app.loader.import_default_modules()
        return app.tasks[name]


def enqueue_on_commit(task: str | Task, *args: Any, using: str | None = None, **kwargs: Any) -> None:
    """Queue the task named ``task`` with the given JSON-serialisable arguments once the current transaction commits.

    The name is checked at once (KeyError for an unknown task). Nothing is queued if the transaction rolls back.
    Outside a transaction the task is queued at once. A task may pass itself to re-queue its own work.
    """
    resolved = task_by_name(task) if isinstance(task, str) else task
    transaction.on_commit(partial(resolved.apply_async, args=args, kwargs=kwargs), using=using, robust=True)


# --- Coalesced queueing: one waiting task for a stream of work ------------------------------------------------
# A producer that stores work durably many times a second (ingest batches) need not publish a task for each piece
# when one task takes every piece waiting: it publishes only while no task is waiting. The task releases the key
# when it starts, BEFORE it looks for work, so any piece committed after that release publishes a new task, and
# any piece committed before it is seen by the task. The key expires (a lost publish or a dead worker costs at
# most ``ttl`` seconds); if Redis is unreachable every piece publishes, as without coalescing.

_redis_clients: dict[str, Any] = {}
_KEY_PREFIX = "queue:waiting:"


def _redis():
    import redis  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415

    client = _redis_clients.get(settings.REDIS_URL)
    if client is None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        _redis_clients[settings.REDIS_URL] = client
    return client


def _publish_unless_waiting(task: Task, key: str, ttl: float, args: tuple, kwargs: dict) -> None:
    import redis  # noqa: PLC0415

    try:
        if not _redis().set(_KEY_PREFIX + key, b"1", nx=True, px=int(ttl * 1000)):
            return  # a task that has not started yet will take this work too
    except (redis.RedisError, OSError):
        pass  # cannot tell: publish
    task.apply_async(args=args, kwargs=kwargs)


def enqueue_coalesced_on_commit(task: str | Task, *args: Any, key: str, ttl: float = 30,
                                using: str | None = None, **kwargs: Any) -> None:
    """Like :func:`enqueue_on_commit`, but only when no task queued under ``key`` is still waiting to start.

    The task must call :func:`coalesced_task_started` with the same key before it looks for work, and must take
    all the work waiting at that moment (or queue its own continuation)."""
    resolved = task_by_name(task) if isinstance(task, str) else task
    transaction.on_commit(partial(_publish_unless_waiting, resolved, key, ttl, args, kwargs), using=using,
                          robust=True)


def coalesced_task_started(key: str) -> None:
    """Called by a coalesced task as it starts: work stored from now on queues a new task."""
    import redis  # noqa: PLC0415

    try:
        _redis().delete(_KEY_PREFIX + key)
    except (redis.RedisError, OSError):
        pass  # the key expires by itself
