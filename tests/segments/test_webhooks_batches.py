"""Webhook sending in batches: several senders at once never send a delivery twice (SKIP LOCKED claims), one
batch with mixed outcomes records each on its own row, a large entry queues several sending tasks, and a batch
resolves (and checks) each host once."""

from __future__ import annotations

import socket

import pytest
from django.db.models import Count
from django.utils import timezone

from cdp.models import Profile
from segments.models import Delivery, Segment
from segments.rules import validate_rule
from segments.services import refresh, webhooks
from segments.services.definitions import rule_facts
from segments.services.destinations import destination_create
from tests.concurrency import run_at_once
from tests.segments.receiver import start_receiver

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


@pytest.fixture
def receiver(settings):
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "hooks.test"]
    settings.SEGMENTS_WEBHOOK_BACKOFF_SECONDS = 10
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def pro_segment() -> Segment:
    return Segment.objects.create(name="Pro", definition=PRO, mode="realtime", **rule_facts(validate_rule(PRO)))


def enter_all(segment: Segment, n: int) -> list[int]:
    ids = [p.pk for p in Profile.objects.bulk_create([Profile(traits={"plan": "pro"}) for _ in range(n)])]
    refresh.segment_refresh(segment_id=segment.pk)
    return ids


@pytest.mark.django_db(transaction=True)
def test_several_senders_at_once_send_each_delivery_exactly_once(receiver, settings):
    settings.SEGMENTS_WEBHOOK_BATCH = 25
    segment = pro_segment()
    destination_create(segment=segment, kind="webhook", url=receiver.url("/hook"))
    enter_all(segment, 300)  # (tasks run eagerly here: the refresh's commit sent them; sent again below)
    Delivery.objects.update(status="pending", attempts=0, next_attempt_at=timezone.now(), delivered_at=None)
    with receiver.lock:
        receiver.requests.clear()

    def sender():
        while webhooks.deliveries_send().sent:
            pass

    assert run_at_once(sender) == []
    ids = [r.headers["x-webhook-id"] for r in receiver.received("/hook")]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert set(ids) == {str(u) for u in Delivery.objects.values_list("delivery_id", flat=True)}
    assert set(Delivery.objects.values_list("status", "attempts", "last_status_code")) == {("delivered", 1, 200)}


@pytest.mark.django_db
def test_one_batch_with_mixed_outcomes_records_each_on_its_own_row(receiver, django_capture_on_commit_callbacks):
    segment = pro_segment()
    ok, busy, gone = (destination_create(segment=segment, kind="webhook", url=receiver.url(path))
                      for path in ("/ok", "/busy", "/gone"))
    receiver.answer("/busy", (503, {"Retry-After": "42"}, b"later"))
    receiver.answer("/gone", (410, {}, b"no such hook"))
    enter_all(segment, 1)
    with django_capture_on_commit_callbacks() as queued:
        out = webhooks.deliveries_send()
    assert (out.sent, out.delivered, out.retrying, out.dead) == (3, 1, 1, 1)
    rows = {d.destination_id: d for d in Delivery.objects.all()}
    assert (rows[ok.pk].status, rows[ok.pk].last_status_code, rows[ok.pk].last_error) == ("delivered", 200, "")
    assert rows[ok.pk].delivered_at is not None and rows[ok.pk].next_attempt_at is None
    r = rows[busy.pk]
    assert (r.status, r.attempts, r.last_status_code, r.last_error) == ("retrying", 1, 503, "HTTP 503: later")
    assert 41 <= (r.next_attempt_at - r.created_at).total_seconds() <= 60  # Retry-After honoured
    g = rows[gone.pk]
    assert (g.status, g.last_status_code, g.last_error) == ("dead", 410, "HTTP 410: no such hook")
    assert g.dead_at is not None and g.claimed_at is None and g.next_attempt_at is None
    assert len(queued) == 1  # one task for the earliest retry
    assert all(d.body and d.last_response_ms is not None for d in rows.values())


@pytest.mark.django_db
@pytest.mark.parametrize(("entries", "tasks"), [(1, 1), (5, 2), (3, 2)])
def test_a_large_entry_queues_several_sending_tasks(settings, django_capture_on_commit_callbacks, entries, tasks):
    settings.SEGMENTS_WEBHOOK_BATCH = 2
    settings.SEGMENTS_WEBHOOK_TASKS = 2
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    segment = pro_segment()
    destination_create(segment=segment, kind="webhook", url="http://127.0.0.1:9/hook")
    Profile.objects.bulk_create([Profile(traits={"plan": "pro"}) for _ in range(entries)])
    with django_capture_on_commit_callbacks() as queued:
        refresh.segment_refresh(segment_id=segment.pk)
    sending = [cb for cb in queued if getattr(cb, "func", None) is not None
               and getattr(cb.func, "__self__", None) is not None
               and cb.func.__self__.name == "segments.tasks.send_deliveries"]
    assert len(sending) == tasks


@pytest.mark.django_db
def test_a_batch_resolves_each_host_once_and_checks_the_answer(receiver, monkeypatch, settings):
    segment = pro_segment()
    destination_create(segment=segment, kind="webhook", url=f"http://hooks.test:{receiver.port}/hook")
    evil = destination_create(segment=segment, kind="webhook", url=f"http://evil.test:{receiver.port}/hook")
    enter_all(segment, 4)
    asked: list[str] = []
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        asked.append(host)
        if host in ("hooks.test", "evil.test"):
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    out = webhooks.deliveries_send()
    assert (out.sent, out.delivered, out.dead) == (8, 4, 4)
    assert asked.count("hooks.test") == 1 and asked.count("evil.test") == 1
    assert set(Delivery.objects.filter(destination=evil).values_list("status", flat=True)) == {"dead"}
    assert all("127.0.0.1" in e for e in Delivery.objects.filter(destination=evil).values_list("last_error",
                                                                                               flat=True))
    assert len(receiver.received("/hook")) == 4
    # the next batch asks DNS again (an answer is kept for one batch only)
    Delivery.objects.update(status="pending", attempts=0, next_attempt_at=Delivery.objects.first().created_at)
    webhooks.deliveries_send()
    assert asked.count("hooks.test") == 2


@pytest.mark.django_db
def test_sending_for_a_while_keeps_two_batches_in_flight_and_stops_claiming_after_its_budget(receiver, settings):
    settings.SEGMENTS_WEBHOOK_BATCH = 10
    segment = pro_segment()
    destination_create(segment=segment, kind="webhook", url=receiver.url("/hook"))
    receiver.answer("/hook", *[(200, {}, b"ok")] * 5, (503, {}, b"busy"))
    enter_all(segment, 35)
    out = webhooks.deliveries_send_due(budget_seconds=0)  # out of time at once: one batch, nothing claimed after
    assert out.sent == 10 and Delivery.objects.filter(status="pending").count() == 25
    out = webhooks.deliveries_send_due(budget_seconds=60)
    assert (out.sent, out.delivered, out.retrying) == (25, 25, 0)
    ids = [r.headers["x-webhook-id"] for r in receiver.received("/hook")]
    assert len(ids) == 35 and len(set(ids)) == 35
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    assert counts == {"delivered": 34, "retrying": 1}
