"""The one way services queue Celery work: by task name, after the surrounding transaction commits.

Services name the task ("cdp.tasks.batch_process") instead of importing it, so a service never imports a tasks
module (tasks import services; the other direction would be a cycle).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

from config.celery import app


def task_by_name(name: str) -> Task:
    """The registered task called ``name``; loads the apps' tasks modules on first use. Raises KeyError."""
    try:
        return app.tasks[name]
    except KeyError:
        # Outside a worker the tasks modules are imported on demand: autodiscovery runs with the default modules.
        app.loader.import_default_modules()
        return app.tasks[name]


def enqueue_on_commit(task: str | Task, *args: Any, using: str | None = None, **kwargs: Any) -> None:
    """Queue the task named ``task`` with the given JSON-serialisable arguments once the current transaction commits.

    The name is checked at once (KeyError for an unknown task). Nothing is queued if the transaction rolls back.
    Outside a transaction the task is queued at once. A task may pass itself to re-queue its own work.
    """
    resolved = task_by_name(task) if isinstance(task, str) else task
    transaction.on_commit(partial(resolved.apply_async, args=args, kwargs=kwargs), using=using, robust=True)
