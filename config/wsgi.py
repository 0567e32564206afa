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


_warm_up()
