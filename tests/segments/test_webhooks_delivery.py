"""Webhook destinations end to end against a real local HTTP receiver: the signature checked by an independent
implementation of the documented recipe, retries with backoff on 5xx/408/429 (Retry-After honoured), none on
other 4xx, the dead-letter list with replay and discard, the same delivery id on every attempt, redirects."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from cdp.models import Identifier, Profile
from segments.models import Delivery, Destination
from segments.services import refresh, webhooks
from segments.services.destinations import (
    deliveries_discard,
    deliveries_replay,
    destination_create,
    destination_rotate_secret,
)
from segments.services.segments import segment_create
from tests.segments.receiver import start_receiver

PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


@pytest.fixture
def receiver(settings):
    settings.SEGMENTS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SEGMENTS_WEBHOOK_MAX_ATTEMPTS = 4
    settings.SEGMENTS_WEBHOOK_BACKOFF_SECONDS = 10
    settings.SEGMENTS_WEBHOOK_READ_TIMEOUT = 2
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """The README's recipe, written again here: HMAC-SHA256 over "<timestamp>.<body>", hex, after "v1="."""
    expected = hmac.new(secret.encode(), headers["x-webhook-timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, part.removeprefix("v1="))
               for part in headers["x-webhook-signature"].split())


def enter(segment, **traits) -> Profile:
    """A profile that matches PRO, put into ``segment`` by a real-time check (deliveries recorded, not sent)."""
    profile = Profile.objects.create(traits={"plan": "pro", **traits})
    Identifier.objects.create(profile=profile, type="email", value=f"p{profile.pk}@example.com")
    refresh.profiles_check(profile_ids=[profile.pk])
    return profile


@pytest.fixture
def segment(db):
    return segment_create(name="Pro", definition=PRO)


def hook(segment, receiver, path="/hook", **kw):
    return destination_create(segment=segment, kind="webhook", url=receiver.url(path), traits=["plan", "city"], **kw)


def test_a_signed_delivery_reaches_the_receiver_with_its_payload(segment, receiver):
    dest = hook(segment, receiver, on_exit=True)
    profile = enter(segment, city="Berlin", secret_thing="no")
    out = webhooks.deliveries_send()
    assert (out.sent, out.delivered) == (1, 1)
    [req] = receiver.received("/hook")
    assert verify(dest.secret, req.headers, req.body)
    assert not verify(dest.secret + "x", req.headers, req.body)
    body = json.loads(req.body)
    delivery = Delivery.objects.get()
    assert req.headers["x-webhook-id"] == body["id"] == str(delivery.delivery_id)
    assert body["event"] == "entered" and body["segment"] == {"id": segment.pk, "name": "Pro"}
    assert body["profile"]["id"] == profile.pk
    assert body["profile"]["identifiers"] == {"email": [f"p{profile.pk}@example.com"]}
    assert body["traits"] == {"plan": "pro", "city": "Berlin"}  # only the chosen traits
    assert abs(int(req.headers["x-webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    # leaving sends "exited"
    Profile.objects.filter(pk=profile.pk).update(traits={"plan": "free"})
    refresh.profiles_check(profile_ids=[profile.pk])
    webhooks.deliveries_send()
    exited = json.loads(receiver.received("/hook")[-1].body)
    assert exited["event"] == "exited" and exited["id"] != body["id"]


def test_the_refresh_records_deliveries_and_queues_them_after_commit(segment, receiver,
                                                                     django_capture_on_commit_callbacks):
    hook(segment, receiver)
    profile = Profile.objects.create(traits={"plan": "pro"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refresh.profiles_check(profile_ids=[profile.pk])
        assert Delivery.objects.filter(status="pending").count() == 1  # the row is there, in the transaction
        assert receiver.received() == []  # nothing sent while the refresh runs
    assert callbacks  # the sending task is queued after commit
    for cb in callbacks:
        cb()
    assert len(receiver.received()) == 1
    assert Delivery.objects.get().status == "delivered"
    # the same change again records nothing new
    refresh.profiles_check(profile_ids=[profile.pk])
    assert Delivery.objects.count() == 1


def test_retries_back_off_and_honour_retry_after_then_deliver_with_the_same_id(segment, receiver):
    hook(segment, receiver)
    receiver.answer("/hook", (503, {}, b"down"), (429, {"Retry-After": "120"}, b"slow down"), (408, {}, b""))
    enter(segment)
    t0 = timezone.now()
    webhooks.deliveries_send(now=t0)
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.last_status_code) == ("retrying", 1, 503)
    assert "503" in d.last_error
    wait = (d.next_attempt_at - t0).total_seconds()
    assert 5 <= wait <= 10.5  # base 10 s, equal jitter: between half and all of it
    assert webhooks.deliveries_send(now=t0 + dt.timedelta(seconds=1)).sent == 0  # not due yet
    t1 = d.next_attempt_at
    webhooks.deliveries_send(now=t1)
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code) == ("retrying", 2, 429)
    assert (d.next_attempt_at - t1).total_seconds() == pytest.approx(120, abs=1)  # Retry-After, not backoff
    t2 = d.next_attempt_at
    webhooks.deliveries_send(now=t2)
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code) == ("retrying", 3, 408)
    assert 20 <= (d.next_attempt_at - t2).total_seconds() <= 40.5  # third wait: 10 × 2² with jitter
    webhooks.deliveries_send(now=d.next_attempt_at)
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code) == ("delivered", 4, 200)
    got = receiver.received("/hook")
    assert len(got) == 4
    assert {r.headers["x-webhook-id"] for r in got} == {str(d.delivery_id)}
    assert {r.body for r in got} == {got[0].body}  # the same bytes every time


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    import random

    settings.SEGMENTS_WEBHOOK_BACKOFF_SECONDS = 10
    settings.SEGMENTS_WEBHOOK_BACKOFF_MAX_SECONDS = 100
    rng = random.Random(1)
    waits = {n: [webhooks.backoff_seconds(n, rng=rng) for _ in range(200)] for n in (1, 2, 3, 5, 9)}
    assert all(5 <= w <= 10 for w in waits[1]) and all(10 <= w <= 20 for w in waits[2])
    assert all(20 <= w <= 40 for w in waits[3]) and all(50 <= w <= 100 for w in waits[5] + waits[9])
    assert len({round(w, 3) for w in waits[3]}) > 100  # jittered, not one value
    assert webhooks.backoff_seconds(2, retry_after=7) == 7


def test_a_client_error_is_not_retried_and_goes_to_the_dead_letter_list(segment, receiver):
    hook(segment, receiver)
    receiver.answer("/hook", (400, {}, b"bad payload"))
    enter(segment)
    webhooks.deliveries_send()
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.last_status_code) == ("dead", 1, 400)
    assert "bad payload" in d.last_error and d.dead_at is not None
    assert webhooks.deliveries_send(now=timezone.now() + dt.timedelta(days=1)).sent == 0
    # replay: same delivery id, delivered now
    assert deliveries_replay(delivery_ids=[d.pk]) == 1
    webhooks.deliveries_send()
    d.refresh_from_db()
    assert (d.status, d.attempts) == ("delivered", 1)
    ids = [r.headers["x-webhook-id"] for r in receiver.received("/hook")]
    assert ids == [str(d.delivery_id)] * 2
    assert deliveries_replay(delivery_ids=[d.pk]) == 0  # a delivered one is not sent again


def test_after_the_last_attempt_a_delivery_is_dead_then_bulk_replay_and_discard(segment, receiver):
    hook(segment, receiver)
    receiver.answer("/hook", *[(500, {}, b"boom")] * 8)
    enter(segment)
    enter(segment)
    now = timezone.now()
    for _ in range(4):
        webhooks.deliveries_send(now=now)
        now += dt.timedelta(hours=1)
    assert list(Delivery.objects.values_list("status", "attempts")) == [("dead", 4), ("dead", 4)]
    assert len(receiver.received()) == 8
    first, second = Delivery.objects.order_by("pk")
    assert deliveries_discard(delivery_ids=[second.pk]) == 1
    assert deliveries_replay(delivery_ids=[first.pk]) == 1
    webhooks.deliveries_send()
    assert dict(Delivery.objects.values_list("pk", "status")) == {first.pk: "delivered", second.pk: "discarded"}


def test_network_errors_and_timeouts_are_retried(segment, receiver, settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    destination_create(segment=segment, kind="webhook", url=f"http://127.0.0.1:{closed_port}/nobody")
    enter(segment)
    webhooks.deliveries_send()
    d = Delivery.objects.get()
    assert d.status == "retrying" and d.last_status_code is None and "Network error" in d.last_error
    settings.SEGMENTS_WEBHOOK_READ_TIMEOUT = 0.5
    hook(segment, receiver)
    receiver.answer("/hook", (200, {"sleep": "2"}, b"late"))
    enter(segment)
    webhooks.deliveries_send(ids=list(Delivery.objects.filter(status="pending").values_list("pk", flat=True)))
    late = Delivery.objects.get(destination__url__endswith="/hook")
    assert late.status == "retrying" and late.last_error.startswith("Timeout")


def test_a_redirect_within_allowed_hosts_is_followed(segment, receiver):
    hook(segment, receiver, path="/old")
    receiver.answer("/old", (308, {"Location": "/new"}, b""))
    enter(segment)
    webhooks.deliveries_send()
    assert Delivery.objects.get().status == "delivered"
    assert len(receiver.received("/new")) == 1
    assert receiver.received("/new")[0].body == receiver.received("/old")[0].body


def test_a_huge_response_is_not_read_past_the_cap(segment, receiver, settings):
    settings.SEGMENTS_WEBHOOK_MAX_RESPONSE_BYTES = 1000
    hook(segment, receiver)
    receiver.answer("/hook", (200, {}, b"x" * 200_000))
    enter(segment)
    webhooks.deliveries_send()
    d = Delivery.objects.get()
    assert d.status == "delivered" and "larger than 1000 bytes" in d.last_error


def test_a_rotated_secret_signs_with_both_during_the_grace_period(segment, receiver):
    dest = hook(segment, receiver)
    old = dest.secret
    new = destination_rotate_secret(destination=dest)
    assert new != old and new.startswith("whsec_")
    enter(segment)
    webhooks.deliveries_send()
    [req] = receiver.received()
    assert verify(new, req.headers, req.body) and verify(old, req.headers, req.body)
    Destination.objects.filter(pk=dest.pk).update(previous_secret_until=timezone.now() - dt.timedelta(seconds=1))
    enter(segment)
    webhooks.deliveries_send()
    last = receiver.received()[-1]
    assert verify(new, last.headers, last.body) and not verify(old, last.headers, last.body)
