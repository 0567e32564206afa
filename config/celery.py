"""The Celery app. All configuration lives in Django settings under CELERY_*."""

import gc
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["config", "crm", "cdp", "segments"])


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: close a database connection that is older than
    CONN_MAX_AGE or was left unusable by an error, and keep the others (CELERY_DB_REUSE_MAX stops Celery from
    closing every connection instead). Eager tasks run inside the caller's transaction: left alone."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _tune_garbage_collector(**kwargs) -> None:
    """In each worker process: move everything loaded at start-up (Django, the app, libraries) out of the cyclic
    garbage collector's reach, and collect less often. Tasks allocate many short-lived objects; with Python's
    defaults, collections kept rescanning the long-lived ones, which cost identity resolution about a fifth of its
    Python time. Reference counting still frees almost everything at once; the thresholds only space out the
    search for cycles."""
    from django.conf import settings

    gc.freeze()
    gc.set_threshold(*settings.WORKER_GC_THRESHOLDS)
