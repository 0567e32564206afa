"""events_ingest and the validation rules it shares with the HTTP API (service level, real Postgres)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from cdp.models import IngestBatch, MessageDedupe, RawEvent, RejectedMessage, Source
from cdp.services.ingest import events_ingest
from cdp.services.retention import partitions_maintain
from cdp.services.sources import crm_source, source_for_write_key, source_rotate_key
from tests.cdp.collect_support import make_source, track

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ingest(source, messages, **kwargs):
    kwargs.setdefault("received_at", RECEIVED)
    return events_ingest(source=source, messages=messages, **kwargs)


def test_stores_events_in_one_batch_with_their_fields(django_capture_on_commit_callbacks):
    source = make_source()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = ingest(source, [track(1), {"type": "identify", "anonymousId": "anon-1", "traits": {"plan": "pro"}}])
        # Processing is queued only when the transaction commits.
        assert IngestBatch.objects.get(pk=result.batch_id).processed_at is None
    assert (result.accepted, result.duplicates, result.rejected) == (2, 0, [])
    batch = IngestBatch.objects.get(pk=result.batch_id)
    assert batch.event_count == 2 and batch.source == source
    # One processing hand-off per batch (listeners such as segments may queue their own work after it).
    assert sum("batch_process" in repr(c) for c in callbacks) == 1 and batch.processed_at is not None
    event = RawEvent.objects.get(message_id="msg-1")
    assert (event.type, event.event, event.user_id, event.source_id, event.batch_id) == (
        "track", "Order Completed", "user-1", source.pk, batch.pk)
    assert event.received_at == RECEIVED
    assert event.payload["properties"] == {"revenue": 42.5, "currency": "EUR", "n": 1}
    assert event.payload["receivedAt"] == RECEIVED.isoformat()
    identify = RawEvent.objects.get(type="identify")
    assert identify.anonymous_id == "anon-1" and identify.user_id is None
    assert len(identify.message_id) == 36  # server-generated messageId
    assert identify.payload["messageId"] == identify.message_id


def test_query_count_is_constant_in_batch_size(django_assert_max_num_queries):
    source = make_source()
    with django_assert_max_num_queries(4):
        result = ingest(source, [track(i) for i in range(500)])
    assert result.accepted == 500 and RawEvent.objects.count() == 500


def test_sequential_replay_stores_each_message_once():
    source = make_source()
    first = ingest(source, [track(1), track(2)])
    again = ingest(source, [track(1), track(2), track(3)])
    assert (first.accepted, again.accepted, again.duplicates) == (2, 1, 2)
    assert sorted(RawEvent.objects.values_list("message_id", flat=True)) == ["msg-1", "msg-2", "msg-3"]
    assert IngestBatch.objects.get(pk=again.batch_id).event_count == 1
    everything_seen = ingest(source, [track(1)])
    assert (everything_seen.accepted, everything_seen.duplicates, everything_seen.batch_id) == (0, 1, None)
    assert MessageDedupe.objects.count() == 3


def test_repeated_message_within_one_request_counts_as_duplicate():
    result = ingest(make_source(), [track(1), track(1, event="Other")])
    assert (result.accepted, result.duplicates) == (1, 1)
    assert RawEvent.objects.get().event == "Order Completed"


def test_dedupe_is_per_source():
    a, b = make_source(), make_source()
    assert ingest(a, [track(1)]).accepted == 1
    assert ingest(b, [track(1)]).accepted == 1


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"type": "track", "userId": "u"}, "missing_event"),
        ({"type": "track", "userId": "u", "event": ""}, "missing_event"),
        ({"type": "identify", "traits": {"a": 1}}, "missing_identity"),
        ({"type": "identify", "userId": "", "anonymousId": None}, "missing_identity"),
        ({"type": "identify", "userId": {"x": 1}}, "invalid_field"),
        ({"type": "identify", "userId": "u", "messageId": "m" * 101}, "message_id_too_long"),
        ({"type": "identify", "userId": "u", "messageId": ["m"]}, "invalid_field"),
        ({"type": "fly", "userId": "u"}, "invalid_type"),
        ({"userId": "u"}, "invalid_type"),
        ({"type": "group", "userId": "u"}, "missing_group_id"),
        ({"type": "alias", "userId": "u"}, "missing_previous_id"),
        ({"type": "track", "userId": "u", "event": "E", "properties": [1, 2]}, "invalid_field"),
        ({"type": "identify", "userId": "u", "traits": "x"}, "invalid_field"),
        ({"type": "identify", "userId": "u", "context": 3}, "invalid_field"),
        ({"type": "page", "userId": "u", "name": 5}, "invalid_field"),
        ({"type": "identify", "userId": "u", "timestamp": "yesterday"}, "invalid_timestamp"),
        ({"type": "identify", "userId": "u", "timestamp": 1700000000}, "invalid_timestamp"),
        ({"type": "identify", "userId": "u", "timestamp": "0001-01-01T00:00:00+14:00"}, "invalid_timestamp"),
        ({"type": "identify", "userId": "u", "timestamp": "2026-01-01T00:00:00Z", "sentAt": "8999-01-01T00:00:00Z"},
         "invalid_timestamp"),
        ({"type": "identify", "userId": "u", "properties": {"big": 2**70}}, "invalid_message"),
        ({"type": "identify", "userId": "u", "traits": {"bio": "x" * 33_000}}, "event_too_large"),
        ("not an object", "invalid_message"),
    ],
)
def test_each_rule_rejects_with_its_code(message, error):
    source = make_source()
    result = ingest(source, [track(1), message])
    assert result.accepted == 1
    assert [(r.index, r.error) for r in result.rejected] == [(1, error)]
    stored = RejectedMessage.objects.get()
    assert (stored.source, stored.error, stored.received_at) == (source, error, RECEIVED)
    assert stored.detail


def test_rejected_message_keeps_id_and_truncated_payload():
    source = make_source()
    ingest(source, [{"type": "track", "userId": "u", "messageId": "bad-1", "properties": {"x": "y" * 9000}}])
    stored = RejectedMessage.objects.get()
    assert stored.message_id == "bad-1" and stored.error == "missing_event"
    assert stored.payload.startswith("{") and len(stored.payload) == 4000


def test_valid_shapes_for_every_type():
    messages = [
        {"type": "identify", "userId": 42, "traits": {"email": "a@b.c"}},
        {"type": "page", "anonymousId": "a", "name": "Home"},
        {"type": "screen", "anonymousId": "a"},
        {"type": "group", "userId": "u", "groupId": "acme"},
        {"type": "alias", "userId": "u", "previousId": "a"},
        track(7),
    ]
    result = ingest(make_source(), messages)
    assert result.accepted == 6 and not result.rejected
    assert RawEvent.objects.get(type="identify").user_id == "42"
    assert RawEvent.objects.get(type="page").event == "Home"
    assert RawEvent.objects.get(type="alias").payload["previousId"] == "a"
    assert RawEvent.objects.get(type="group").payload["groupId"] == "acme"


def test_clock_skew_is_corrected_from_sent_at():
    # The device clock is 1 hour ahead: it stamped the event 10 s before sending it.
    message = track(1, timestamp="2026-03-01T13:00:00Z", sentAt="2026-03-01T13:00:10Z")
    ingest(make_source(), [message])
    event = RawEvent.objects.get()
    assert event.timestamp == RECEIVED - timedelta(seconds=10)
    assert event.original_timestamp == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    assert event.sent_at == datetime(2026, 3, 1, 13, 0, 10, tzinfo=UTC)
    assert event.future_timestamp is False
    assert event.payload["originalTimestamp"] == "2026-03-01T13:00:00+00:00"


def test_request_level_sent_at_and_original_timestamp():
    message = track(1, originalTimestamp="2026-03-01T08:00:00+02:00")
    del message["timestamp"]
    ingest(make_source(), [message], sent_at="2026-03-01T06:00:30Z")
    assert RawEvent.objects.get().timestamp == RECEIVED - timedelta(seconds=30)


def test_without_sent_at_timestamp_is_trusted_and_without_timestamp_received_at_is_used():
    a = track(1, timestamp="2026-02-27T09:00:00")
    b = track(2)
    del b["timestamp"]
    ingest(make_source(), [a, b])
    assert RawEvent.objects.get(message_id="msg-1").timestamp == datetime(2026, 2, 27, 9, 0, tzinfo=UTC)
    assert RawEvent.objects.get(message_id="msg-2").timestamp == RECEIVED


def test_future_timestamps_are_flagged_and_not_trusted():
    ingest(make_source(), [track(1, timestamp="2026-03-03T12:00:00Z"), track(2, timestamp="2026-03-02T11:00:00Z")])
    future = RawEvent.objects.get(message_id="msg-1")
    assert future.future_timestamp is True and future.timestamp == RECEIVED
    assert future.original_timestamp == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    near = RawEvent.objects.get(message_id="msg-2")
    assert near.future_timestamp is False and near.timestamp == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


def test_nul_characters_are_dropped_instead_of_failing_the_batch():
    message = track(1, userId="u\x00x", properties={"k\x00": "v\x00w"})
    assert ingest(make_source(), [message]).accepted == 1
    event = RawEvent.objects.get()
    assert event.user_id == "ux" and event.payload["properties"] == {"k": "vw"}


def test_write_key_is_not_stored_in_the_payload():
    ingest(make_source(), [track(1, writeKey="secret")])
    assert "writeKey" not in RawEvent.objects.get().payload


def test_events_land_in_daily_partitions():
    source = make_source()
    partitions_maintain()
    now = timezone.now()
    events_ingest(source=source, messages=[track(1)], received_at=now)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM cdp_rawevent")
        assert cursor.fetchone()[0] == f"cdp_rawevent_p{now.astimezone(UTC):%Y%m%d}"


def test_write_key_rotation_keeps_old_key_for_the_grace_period():
    source = make_source()
    old = source.write_key
    new = source_rotate_key(source=source, grace=timedelta(hours=1))
    assert new != old and source.write_key == new
    assert source_for_write_key(new) == source
    assert source_for_write_key(old) == source
    newest = source_rotate_key(source=source, grace=timedelta(0))
    assert source_for_write_key(newest) == source
    assert source_for_write_key(new) is None  # grace over
    assert source_for_write_key(old) is None  # rotated out twice
    assert source_for_write_key("nope") is None and source_for_write_key("") is None


def test_crm_source_is_created_once():
    first = crm_source()
    assert first.kind == Source.Kind.CRM and first.name == "CRM"
    assert crm_source() == first and Source.objects.filter(kind="crm").count() == 1


def test_createsource_prints_the_write_key_last(capsys):
    call_command("createsource", "Backend", "--kind", "server")
    lines = capsys.readouterr().out.strip().splitlines()
    source = Source.objects.get(name="Backend")
    assert source_for_write_key(lines[-1]) == source and source.kind == "server" and source.enabled
