"""Shared fixtures. The database is the real Postgres (embedded under var/ or DATABASE_URL)."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_api_throttles():
    """Each test starts with empty API throttle counters (they live in the real Redis, shared by the run)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match="*throttle_*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Admin", is_superuser=True, is_staff=True)


@pytest.fixture
def sales_user(db):
    return UserFactory(username="sam", first_name="Sam", last_name="Seller", role="Sales")


@pytest.fixture
def support_user(db):
    return UserFactory(username="sue", first_name="Sue", last_name="Helper", role="Support")


@pytest.fixture
def marketing_user(db):
    return UserFactory(username="max", first_name="Max", last_name="Marketer", role="Marketing")


@pytest.fixture
def sales_client(client, sales_user):
    client.force_login(sales_user)
    return client


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real `celery worker` process (prefork, 2 children) on the test database and real Redis.

    The test's own task sending is switched from eager to the broker for its duration. Data the worker
    must see has to be committed, hence transactional_db.
    """
    from config.celery import app
    from tests.workers import WorkerProcess

    # Messages left in the broker by an earlier test's worker refer to rows that test flushed; a new worker
    # taking them (a processing run that claims every waiting batch, say) would race this test's own steps.
    with app.connection_for_write() as connection:
        for queue in ("default", "ingest", "segments"):
            connection.default_channel.queue_purge(queue)
    worker = WorkerProcess().start()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        app.conf.task_always_eager = eager
        worker.stop()
