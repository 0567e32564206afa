"""Email webhook endpoints: real SendGrid (ECDSA) and Mailgun (HMAC) signatures, events stored once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.urls import reverse

from cdp.models import RawEvent, Source
from cdp.services.email_webhooks import email_anonymous_id
from cdp.services.sources import source_create
from tests.cdp.test_email_mapping import make_sendgrid_keys, sendgrid_sign

pytestmark = pytest.mark.django_db

MAILGUN_KEY = "mg-signing-key-123"


@pytest.fixture
def sendgrid_keys():
    return make_sendgrid_keys()


@pytest.fixture
def email_source(sendgrid_keys):
    _, public_b64 = sendgrid_keys
    return source_create(name="Newsletter", kind=Source.Kind.EMAIL,
                         settings={"sendgrid_public_key": public_b64, "mailgun_signing_key": MAILGUN_KEY})


def sendgrid_post(client, source, private, events, *, tamper=False, timestamp=None):
    body = json.dumps(events).encode()
    ts = timestamp or str(int(time.time()))
    signature = sendgrid_sign(private, ts, body)
    if tamper:
        body = body.replace(b"open", b"click")
    return client.generic("POST", reverse("cdp:email-hook", args=[source.pk, "sendgrid"]), body,
                          content_type="application/json",
                          HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
                          HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=ts)


def mailgun_body(event_id, event, recipient="bo@example.com", key=MAILGUN_KEY, signed_at=None, token=None, **extra):
    ts, token = str(int(signed_at or time.time())), token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": ts, "token": token, "signature": signature},
            "event-data": {"id": event_id, "event": event, "recipient": recipient, "timestamp": time.time(),
                           **extra}}


def mailgun_post(client, source, body):
    return client.post(reverse("cdp:email-hook", args=[source.pk, "mailgun"]), json.dumps(body),
                       content_type="application/json")


SENDGRID_EVENTS = [
    {"email": "Ann@Example.com", "timestamp": 1700000000, "event": "delivered", "sg_event_id": "sg-d1"},
    {"email": "ann@example.com", "timestamp": 1700000100, "event": "open", "sg_event_id": "sg-o1"},
    {"email": "ann@example.com", "timestamp": 1700000200, "event": "click", "sg_event_id": "sg-c1",
     "url": "https://shop.test/"},
    {"email": "ann@example.com", "timestamp": 1700000300, "event": "processed", "sg_event_id": "sg-p1"},
]


def test_sendgrid_events_are_verified_and_stored_once(client, email_source, sendgrid_keys):
    private, _ = sendgrid_keys
    response = sendgrid_post(client, email_source, private, SENDGRID_EVENTS)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": 0, "skipped": 1}
    events = RawEvent.objects.filter(source=email_source).order_by("timestamp")
    assert [e.event for e in events] == ["Email Delivered", "Email Opened", "Email Clicked"]
    assert {e.anonymous_id for e in events} == {email_anonymous_id("ann@example.com")}
    assert all(e.user_id is None for e in events)
    assert events[0].payload["context"]["traits"]["email"] == "ann@example.com"
    assert events[2].payload["properties"]["url"] == "https://shop.test/"
    # SendGrid retries the same events (newly signed): nothing is stored twice.
    again = sendgrid_post(client, email_source, private, SENDGRID_EVENTS)
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": 0, "skipped": 1}
    assert RawEvent.objects.filter(source=email_source).count() == 3


def test_sendgrid_bad_signatures_are_refused(client, email_source, sendgrid_keys):
    private, _ = sendgrid_keys
    tampered = sendgrid_post(client, email_source, private, SENDGRID_EVENTS, tamper=True)
    assert tampered.status_code == 401 and tampered.json()["error"] == "invalid_signature"
    other_private, _ = make_sendgrid_keys()
    forged = sendgrid_post(client, email_source, other_private, SENDGRID_EVENTS)
    assert forged.status_code == 401
    unsigned = client.post(reverse("cdp:email-hook", args=[email_source.pk, "sendgrid"]),
                           json.dumps(SENDGRID_EVENTS), content_type="application/json")
    assert unsigned.status_code == 401 and "detail" in unsigned.json()
    assert not RawEvent.objects.filter(source=email_source).exists()


def test_sendgrid_malformed_but_signed_is_400(client, email_source, sendgrid_keys):
    private, _ = sendgrid_keys
    response = sendgrid_post(client, email_source, private, {"not": "a list"})
    assert response.status_code == 400 and response.json()["error"] == "malformed"


def test_mailgun_events_are_verified_mapped_and_deduped(client, email_source):
    for event_id, event, extra in [("mg-1", "delivered", {}), ("mg-2", "opened", {}),
                                   ("mg-3", "failed", {"severity": "permanent"}), ("mg-4", "unsubscribed", {}),
                                   ("mg-5", "failed", {"severity": "temporary"})]:
        response = mailgun_post(client, email_source, mailgun_body(event_id, event, **extra))
        assert response.status_code == 200, response.content
    assert mailgun_post(client, email_source, mailgun_body("mg-2", "opened")).json()["duplicates"] == 1
    events = RawEvent.objects.filter(source=email_source).order_by("message_id")
    assert [(e.message_id, e.event) for e in events] == [
        ("mailgun-mg-1", "Email Delivered"), ("mailgun-mg-2", "Email Opened"), ("mailgun-mg-3", "Email Bounced"),
        ("mailgun-mg-4", "Email Unsubscribed")]
    assert {e.anonymous_id for e in events} == {email_anonymous_id("bo@example.com")}


def test_mailgun_bad_signature_and_malformed(client, email_source):
    bad = mailgun_post(client, email_source, mailgun_body("mg-9", "opened", key="wrong-key"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_signature"
    no_signature = mailgun_post(client, email_source, {"event-data": {"event": "opened"}})
    assert no_signature.status_code == 400
    not_json = client.post(reverse("cdp:email-hook", args=[email_source.pk, "mailgun"]), b"{nope",
                           content_type="application/json")
    assert not_json.status_code == 400 and not_json.json()["error"] == "malformed"
    assert not RawEvent.objects.filter(source=email_source).exists()


def test_unknown_unconfigured_and_disabled_sources(client, email_source, sendgrid_keys):
    private, _ = sendgrid_keys
    server = source_create(name="Backend", kind=Source.Kind.SERVER)
    assert mailgun_post(client, server, mailgun_body("x", "opened")).status_code == 404
    unknown = client.post(reverse("cdp:email-hook", args=[email_source.pk, "postmark"]), "{}",
                          content_type="application/json")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_platform"
    bare = source_create(name="Bare", kind=Source.Kind.EMAIL)
    response = mailgun_post(client, bare, mailgun_body("x", "opened"))
    assert response.status_code == 403 and response.json()["error"] == "not_configured"
    email_source.enabled = False
    email_source.save(update_fields=["enabled"])
    assert sendgrid_post(client, email_source, private, SENDGRID_EVENTS).status_code == 403
    assert client.get(reverse("cdp:email-hook", args=[email_source.pk, "sendgrid"])).status_code == 405


def test_csrf_is_not_required(email_source):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = mailgun_post(strict, email_source, mailgun_body("mg-csrf", "clicked", url="https://x.test"))
    assert response.status_code == 200 and response.json()["accepted"] == 1


def test_old_signed_requests_are_refused_as_replays(client, email_source, sendgrid_keys):
    private, _ = sendgrid_keys
    four_days_ago = str(int(time.time()) - 4 * 24 * 3600)
    old = sendgrid_post(client, email_source, private, SENDGRID_EVENTS, timestamp=four_days_ago)
    assert old.status_code == 401 and "too old" in old.json()["detail"]
    stale = mailgun_post(client, email_source, mailgun_body("mg-old", "opened", signed_at=time.time() - 4 * 86400))
    assert stale.status_code == 401
    two_days_ago = str(int(time.time()) - 2 * 24 * 3600)  # a platform retry: still accepted
    assert sendgrid_post(client, email_source, private, SENDGRID_EVENTS, timestamp=two_days_ago).status_code == 200


def test_a_mailgun_signature_is_accepted_once(client, email_source):
    first = mailgun_body("mg-r1", "opened")
    assert mailgun_post(client, email_source, first).status_code == 200
    # The same signature with forged event data (Mailgun does not sign the events): refused.
    forged = dict(first, **{"event-data": {"id": "mg-forged", "event": "unsubscribed",
                                           "recipient": "victim@example.com", "timestamp": time.time()}})
    replay = mailgun_post(client, email_source, forged)
    assert replay.status_code == 401 and "used already" in replay.json()["detail"]
    assert not RawEvent.objects.filter(message_id="mailgun-mg-forged").exists()


def test_mailgun_signatures_older_than_five_minutes_are_refused(client, email_source):
    assert mailgun_post(client, email_source, mailgun_body("mg-4m", "opened",
                                                           signed_at=time.time() - 240)).status_code == 200
    late = mailgun_post(client, email_source, mailgun_body("mg-6m", "opened", signed_at=time.time() - 360))
    assert late.status_code == 401 and "too old" in late.json()["detail"]


def test_mailgun_without_redis_answers_503_so_the_platform_retries(client, email_source, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    body = mailgun_body("mg-down", "opened")
    response = mailgun_post(client, email_source, body)
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error"] == "unavailable"
    assert not RawEvent.objects.filter(message_id="mailgun-mg-down").exists()
