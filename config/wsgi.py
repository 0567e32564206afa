import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Load the URLconf and the tasks modules now, while the worker boots, instead of in its first request: a
    first request that imports every view module can outlast gunicorn's worker timeout on a busy machine (the
    worker is then killed and the next one starts over), and every worker paid it on the clock of a client."""
    from django.urls import get_resolver  # noqa: PLC0415

    from config.celery import app  # noqa: PLC0415

    get_resolver().url_patterns  # noqa: B018 - the property imports the URL modules
    app.loader.import_default_modules()
    _tune_garbage_collector()


def _tune_garbage_collector() -> None:
    """As in Celery's worker processes (config.celery): what the worker loaded at boot leaves the cyclic garbage
    collector's reach, and cycles are searched for less often. A /v1/batch request parses and re-serialises a
    hundred messages (thousands of dicts and lists); with Python's defaults the collections it triggered kept
    rescanning Django and the app, about a fifth of the request's validation time."""
    from django.conf import settings  # noqa: PLC0415

    gc.freeze()
    gc.set_threshold(*settings.WORKER_GC_THRESHOLDS)


_warm_up()
