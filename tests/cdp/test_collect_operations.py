"""Operational behaviour: rate limiting (real Redis), database outages (503), the sweep, retention, admin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from django.db import connection
from django.utils import timezone

from cdp.models import EventProfile, IngestBatch, MessageDedupe, RawEvent, RejectedMessage, Source
from cdp.services import retention
from cdp.services.ingest import batches_requeue_stale, events_ingest
from cdp.services.sources import source_for_write_key
from cdp.tasks import batches_sweep, dedupe_prune, partitions_maintain, rejected_prune
from tests.cdp.collect_support import make_source, post, track


def body_json(response):
    return orjson.loads(response.content)


# --- rate limiting ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rate_limit_answers_429_with_retry_after(client):
    source = make_source(rate_limit_per_second=1_000_000)
    Source.objects.filter(pk=source.pk).update(rate_limit_per_second=3)
    statuses = []
    for i in range(12):
        r = post(client, "/v1/track", {"userId": "u", "event": "E", "messageId": f"rl-{i}"}, key=source.write_key)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r["Retry-After"] == "1" and body_json(r)["error"] == "rate_limited"
    assert 429 in statuses and statuses[:1] == [200]
    assert RawEvent.objects.count() == statuses.count(200) <= 6  # at most two one-second windows


@pytest.mark.django_db
def test_unlimited_source_is_never_throttled(client):
    source = make_source()
    for i in range(20):
        assert post(client, "/v1/track", {"userId": "u", "event": "E", "messageId": f"n-{i}"},
                    key=source.write_key).status_code == 200


@pytest.mark.django_db
def test_rate_limiting_fails_open_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    source = make_source(rate_limit_per_second=1)
    for i in range(5):
        r = post(client, "/v1/track", {"userId": "u", "event": "E", "messageId": f"fo-{i}"}, key=source.write_key)
        assert r.status_code == 200
    assert RawEvent.objects.count() == 5


# --- database outage ------------------------------------------------------------------------------------------


@pytest.fixture
def broken_database():
    """Point the default connection at a port where no Postgres listens (restored afterwards)."""
    settings_dict = connection.settings_dict
    saved = settings_dict["HOST"], settings_dict["PORT"]

    def breaker(down: bool = True):
        connection.close()
        settings_dict["HOST"], settings_dict["PORT"] = ("127.0.0.1", "1") if down else saved

    yield breaker
    breaker(down=False)


@pytest.mark.django_db(transaction=True)
def test_database_down_before_auth_answers_503(client, broken_database):
    source = make_source()
    broken_database()
    r = post(client, "/v1/batch", {"batch": [track(1)]}, key=source.write_key)
    assert r.status_code == 503 and r["Retry-After"] == "5"
    assert body_json(r)["error"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_database_down_at_insert_answers_503_and_nothing_is_half_stored(client, broken_database, settings):
    settings.CDP_SOURCE_CACHE_SECONDS = 60  # the source is known from the first request; the insert fails
    source = make_source()
    assert post(client, "/v1/track", {"userId": "u", "event": "Warm"}, key=source.write_key).status_code == 200
    broken_database()
    r = post(client, "/v1/batch", {"batch": [track(1), track(2)]}, key=source.write_key)
    assert (r.status_code, r["Retry-After"], body_json(r)["error"]) == (503, "5", "unavailable")


@pytest.mark.django_db(transaction=True)
def test_retry_after_the_outage_is_stored_once(client, broken_database):
    source = make_source()
    payload = {"batch": [track(1), track(2)]}
    broken_database()
    assert post(client, "/v1/batch", payload, key=source.write_key).status_code == 503
    broken_database(down=False)
    r = post(client, "/v1/batch", payload, key=source.write_key)  # the SDK retries the same batch
    assert (r.status_code, body_json(r)["accepted"]) == (200, 2)
    assert RawEvent.objects.filter(source=source).count() == 2
    # Eager Celery ran processing after commit.
    assert IngestBatch.objects.get().processed_at is not None


# --- sweep ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sweep_requeues_batches_whose_processing_never_ran():
    source = make_source()
    old = timezone.now() - timedelta(minutes=10)
    lost = events_ingest(source=source, messages=[track(1)], received_at=old)  # no commit here: never queued
    fresh = events_ingest(source=source, messages=[track(2)])
    assert IngestBatch.objects.get(pk=lost.batch_id).processed_at is None
    assert batches_requeue_stale() == [lost.batch_id]
    assert IngestBatch.objects.get(pk=lost.batch_id).requeued_at is not None
    # Just re-queued: not again until the threshold passes again.
    assert batches_requeue_stale() == []
    assert IngestBatch.objects.get(pk=fresh.batch_id).requeued_at is None


@pytest.mark.django_db(transaction=True)
def test_sweep_task_gets_lost_batches_processed():
    source = make_source()
    old = timezone.now() - timedelta(minutes=10)
    batch = IngestBatch.objects.create(source=source, received_at=old, event_count=0)
    done = IngestBatch.objects.create(source=source, received_at=old, event_count=0, processed_at=old)
    assert batches_sweep() == 1  # eager: the re-queued processing runs after the sweep commits
    batch.refresh_from_db()
    done.refresh_from_db()
    assert batch.processed_at is not None and done.processed_at == old


# --- retention -----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_partitions_are_created_ahead_and_dropped_after_retention(settings):
    settings.CDP_RETENTION_DAYS = 30
    settings.CDP_PARTITIONS_AHEAD_DAYS = 3
    source = make_source()
    long_ago = date(2020, 1, 10)
    report = retention.partitions_maintain(today=long_ago)
    assert "cdp_rawevent_p20200109" in report.created and "cdp_rawevent_p20200113" in report.created
    old_time = datetime(2020, 1, 10, 12, tzinfo=UTC)
    events_ingest(source=source, messages=[track(1)], received_at=old_time)
    IngestBatch.objects.update(processed_at=old_time)
    # Something in the default partition from long ago (a day without its own partition).
    events_ingest(source=source, messages=[track(2)], received_at=datetime(2019, 6, 1, tzinfo=UTC))
    events_ingest(source=source, messages=[track(3)])  # today
    with connection.cursor() as cursor:
        cursor.execute("SELECT message_id, tableoid::regclass::text FROM cdp_rawevent ORDER BY message_id")
        where = dict(cursor.fetchall())
    assert where["msg-1"] == "cdp_rawevent_p20200110" and where["msg-2"] == "cdp_rawevent_default"
    assert EventProfile.objects.count() == 3  # processed: each event is linked to its profile

    report = retention.partitions_maintain()
    assert {"cdp_rawevent_p20200109", "cdp_rawevent_p20200110", "cdp_rawevent_p20200113"} <= set(report.dropped)
    assert not any(name.startswith("cdp_rawevent_p2020") for name in retention.partitions_list())
    today = timezone.now().astimezone(UTC).date()
    assert retention.partition_name(today + timedelta(days=3)) in retention.partitions_list()
    assert list(RawEvent.objects.values_list("message_id", flat=True)) == ["msg-3"]
    assert IngestBatch.objects.filter(received_at__year=2020).count() == 0
    # The profile links of the dropped events went with them.
    assert list(EventProfile.objects.values_list("event_id", flat=True)) == list(
        RawEvent.objects.values_list("id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_partition_task_runs_twice_safely():
    first = partitions_maintain()
    second = partitions_maintain()
    assert second["created"] == [] and second["dropped"] == []
    assert isinstance(first["created"], list)


@pytest.mark.django_db
def test_dedupe_window_is_pruned_and_then_a_replay_is_stored_again(settings):
    settings.CDP_DEDUPE_WINDOW_DAYS = 7
    source = make_source()
    old = timezone.now() - timedelta(days=8)
    events_ingest(source=source, messages=[track(1)], received_at=old)
    events_ingest(source=source, messages=[track(2)])
    assert dedupe_prune() == 1
    assert list(MessageDedupe.objects.values_list("message_id", flat=True)) == ["msg-2"]
    assert events_ingest(source=source, messages=[track(1)]).accepted == 1


@pytest.mark.django_db
def test_rejected_messages_are_pruned_after_their_retention(settings):
    settings.CDP_REJECTED_RETENTION_HOURS = 24
    source = make_source()
    events_ingest(source=source, messages=[{"type": "track"}], received_at=timezone.now() - timedelta(hours=25))
    events_ingest(source=source, messages=[{"type": "track"}])
    assert rejected_prune() == 1
    assert RejectedMessage.objects.count() == 1


# --- admin -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_rotate_action_and_pages(client, admin_user):
    client.force_login(admin_user)
    source = make_source()
    old = source.write_key
    source.settings = {"mailgun_signing_key": "mg-secret-123", "sendgrid_public_key": "pk-abc"}
    source.save(update_fields=["settings"])
    r = client.post("/admin/cdp/source/", {"action": "rotate_write_key", "_selected_action": [source.pk]},
                    follow=True)
    shown = [str(m) for m in r.context["messages"]]
    source.refresh_from_db()
    assert source.previous_key_prefix == old[:6] and source.previous_key_expires_at > timezone.now()
    new_key = shown[0].rsplit(" ", 1)[-1]
    assert source_for_write_key(new_key) == source and source_for_write_key(old) == source
    change = client.get(f"/admin/cdp/source/{source.pk}/change/").content.decode()
    assert "mg-secret-123" not in change and "pk-abc" not in change and new_key not in change
    assert source.key_hint in change
    r = client.post("/admin/cdp/source/", {"action": "end_grace_period", "_selected_action": [source.pk]})
    assert r.status_code == 302 and source_for_write_key(old) is None
    assert source_for_write_key(new_key) == source
    events_ingest(source=source, messages=[track(1), {"type": "track"}])
    for url in ["/admin/cdp/source/", f"/admin/cdp/source/{source.pk}/change/", "/admin/cdp/rawevent/",
                "/admin/cdp/ingestbatch/", "/admin/cdp/rejectedmessage/"]:
        page = client.get(url)
        assert page.status_code == 200, url
    assert b"Order Completed" in client.get("/admin/cdp/rawevent/").content
    assert b"missing_identity" in client.get("/admin/cdp/rejectedmessage/").content
