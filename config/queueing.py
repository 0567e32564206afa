"""The one way services queue Celery work: after the surrounding transaction commits."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: Any, using: str | None = None, **kwargs: Any) -> None:
    """Queue ``task`` with the given JSON-serialisable arguments once the current transaction commits.

    Nothing is queued if the transaction rolls back. Outside a transaction the task is queued at once.
    """
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs), using=using, robust=True)
