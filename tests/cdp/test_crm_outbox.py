"""The CRM as a source: its outbox drained into the one ingestion path, once, in order."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from cdp.models import RawEvent, Source
from cdp.services.crm_outbox import DRAIN_LOCK_KEY, crm_outbox_drain
from cdp.services.sources import crm_source
from cdp.tasks import crm_outbox_drain_task
from crm.models import OutboxEntry
from crm.services.contacts import contact_create, contact_update
from crm.services.outbox import outbox_record
from tests.concurrency import run_at_once


def crm_events():
    return RawEvent.objects.filter(source=crm_source()).order_by("id")


@pytest.mark.django_db
def test_created_and_updated_contact_become_crm_events_once():
    contact = contact_create(actor=None, first_name="Ann", last_name="Lee", emails=["Ann@Example.com"])
    assert crm_outbox_drain() == 1
    (created,) = crm_events()
    entry = OutboxEntry.objects.get()
    assert entry.processed_at is not None
    assert created.type == "identify" and created.message_id == f"crm-{entry.pk}"
    assert created.anonymous_id == f"crm-contact-{contact.pk}"
    assert created.payload["traits"]["email"] == "ann@example.com"
    assert created.payload["traits"]["firstName"] == "Ann"
    assert crm_source().kind == Source.Kind.CRM

    contact_update(contact=contact, actor=None, changes={"title": "CTO"})
    assert crm_outbox_drain() == 1
    assert crm_outbox_drain() == 0  # nothing pending: a second drain is a no-op
    events = list(crm_events())
    assert len(events) == 2
    assert events[1].payload["traits"]["title"] == "CTO"


@pytest.mark.django_db
def test_replayed_entries_are_stored_once():
    for n in range(3):
        outbox_record(object_type="contact", object_id=n, message={"type": "identify", "userId": f"u{n}",
                                                                   "traits": {"n": n}})
    assert crm_outbox_drain() == 3
    OutboxEntry.objects.update(processed_at=None)  # as if the marks were lost: drain everything again
    assert crm_outbox_drain() == 3
    assert crm_events().count() == 3
    assert sorted(crm_events().values_list("user_id", flat=True)) == ["u0", "u1", "u2"]


@pytest.mark.django_db
def test_drains_oldest_first_in_rounds_of_limit():
    entries = [outbox_record(object_type="deal", object_id=n, message={
        "type": "track", "event": "Deal Stage Changed", "userId": "u", "properties": {"n": n}}) for n in range(5)]
    assert crm_outbox_drain(limit=2) == 2
    assert set(crm_events().values_list("message_id", flat=True)) == {f"crm-{e.pk}" for e in entries[:2]}
    assert list(OutboxEntry.objects.filter(processed_at__isnull=True).order_by("id").values_list("id", flat=True)) \
        == [e.pk for e in entries[2:]]
    assert crm_outbox_drain(limit=2) == 2 and crm_outbox_drain(limit=2) == 1
    assert crm_events().count() == 5


@pytest.mark.django_db
def test_invalid_outbox_message_is_marked_and_recorded_as_rejected():
    outbox_record(object_type="deal", object_id=1, message={"type": "track", "userId": "u"})  # no event name
    outbox_record(object_type="deal", object_id=2, message={"type": "track", "event": "Ok", "userId": "u"})
    assert crm_outbox_drain() == 2
    assert OutboxEntry.objects.filter(processed_at__isnull=True).count() == 0
    assert crm_events().count() == 1
    assert crm_source().rejected_messages.count() == 1


@pytest.mark.django_db
def test_disabled_crm_source_keeps_entries_waiting():
    outbox_record(object_type="contact", object_id=1, message={"type": "identify", "userId": "u1"})
    Source.objects.filter(pk=crm_source().pk).update(enabled=False)
    assert crm_outbox_drain() == 0
    assert OutboxEntry.objects.filter(processed_at__isnull=True).count() == 1
    Source.objects.filter(pk=crm_source().pk).update(enabled=True)
    assert crm_outbox_drain() == 1 and crm_events().count() == 1


def _dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items()
                                             if k in ("host", "port", "user", "password", "dbname")})


@pytest.mark.django_db
def test_a_second_drainer_waits_its_turn():
    outbox_record(object_type="contact", object_id=1, message={"type": "identify", "userId": "u1"})
    with psycopg.connect(_dsn(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [DRAIN_LOCK_KEY])
        assert crm_outbox_drain() == 0  # another drainer holds the lock: order is kept by not interleaving
        other.execute("SELECT pg_advisory_unlock(%s)", [DRAIN_LOCK_KEY])
    assert crm_outbox_drain() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_store_each_entry_once():
    ids = [outbox_record(object_type="contact", object_id=n, message={"type": "identify", "userId": f"u{n}"}).pk
           for n in range(300)]
    drained: list[int] = []

    def worker():
        for _ in range(10_000):  # until the outbox is empty; a drainer that finds the lock taken gets 0
            if not OutboxEntry.objects.filter(processed_at__isnull=True).exists():
                break
            drained.append(crm_outbox_drain(limit=50))

    assert run_at_once(worker) == []
    assert sum(drained) == 300
    assert sorted(crm_events().values_list("message_id", flat=True)) == sorted(f"crm-{i}" for i in ids)
    assert not OutboxEntry.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db
def test_task_and_beat_schedule():
    outbox_record(object_type="contact", object_id=1, message={"type": "identify", "userId": "u1"})
    assert crm_outbox_drain_task.delay() is not None
    assert crm_events().count() == 1
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "cdp.crm_outbox_drain"]
    assert len(entries) == 1 and entries[0]["schedule"].total_seconds() == 5


@pytest.mark.worker
def test_real_worker_drains_a_committed_contact(celery_worker_process):
    contact = contact_create(actor=None, first_name="Wes", emails=["wes@example.com"])
    crm_outbox_drain_task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not crm_events().filter(anonymous_id=f"crm-contact-{contact.pk}").exists():
        time.sleep(0.2)
    (event,) = crm_events().filter(anonymous_id=f"crm-contact-{contact.pk}")
    assert event.payload["traits"]["email"] == "wes@example.com"
    assert not OutboxEntry.objects.filter(processed_at__isnull=True).exists()
