"""Email webhook signatures and mapping (pure functions, real keys made with cryptography)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cdp.services.email_webhooks import (
    BOUNCED,
    CLICKED,
    DELIVERED,
    OPENED,
    UNSUBSCRIBED,
    WebhookPayloadError,
    email_anonymous_id,
    mailgun_messages,
    mailgun_signature_fields,
    mailgun_signature_valid,
    sendgrid_messages,
    sendgrid_public_key_is_valid,
    sendgrid_signature_valid,
)


def make_sendgrid_keys():
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(der).decode()


def sendgrid_sign(private, timestamp: str, body: bytes) -> str:
    return base64.b64encode(private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def test_sendgrid_signature_roundtrip_and_tampering():
    private, public_b64 = make_sendgrid_keys()
    body = b'[{"email":"a@example.com","event":"open","sg_event_id":"e1"}]'
    ts = "1700000000"
    sig = sendgrid_sign(private, ts, body)
    assert sendgrid_signature_valid(public_key=public_b64, payload=body, signature=sig, timestamp=ts)
    assert not sendgrid_signature_valid(public_key=public_b64, payload=body + b" ", signature=sig, timestamp=ts)
    assert not sendgrid_signature_valid(public_key=public_b64, payload=body, signature=sig, timestamp="1700000001")
    other_private, other_public = make_sendgrid_keys()
    assert not sendgrid_signature_valid(public_key=other_public, payload=body, signature=sig, timestamp=ts)
    assert not sendgrid_signature_valid(public_key=public_b64, payload=body, signature="not base64!!", timestamp=ts)
    assert not sendgrid_signature_valid(public_key="garbage", payload=body, signature=sig, timestamp=ts)
    assert not sendgrid_signature_valid(public_key=public_b64, payload=body, signature="", timestamp=ts)


def test_sendgrid_accepts_pem_key_and_validates_key_format():
    private, public_b64 = make_sendgrid_keys()
    pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    body, ts = b"[]", "1"
    assert sendgrid_signature_valid(public_key=pem, payload=body, signature=sendgrid_sign(private, ts, body),
                                    timestamp=ts)
    assert sendgrid_public_key_is_valid(public_b64) and sendgrid_public_key_is_valid(pem)
    assert not sendgrid_public_key_is_valid("abc") and not sendgrid_public_key_is_valid("")


def test_mailgun_signature():
    key = "key-123"
    ts, token = "1700000000", "tok" * 10
    sig = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    assert mailgun_signature_valid(signing_key=key, timestamp=ts, token=token, signature=sig)
    assert not mailgun_signature_valid(signing_key="other", timestamp=ts, token=token, signature=sig)
    assert not mailgun_signature_valid(signing_key=key, timestamp=ts, token=token + "x", signature=sig)
    assert not mailgun_signature_valid(signing_key=key, timestamp=ts, token=token, signature="")
    with pytest.raises(WebhookPayloadError):
        mailgun_signature_fields({"event-data": {}})
    assert mailgun_signature_fields({"signature": {"timestamp": 1, "token": "t", "signature": "s"}}) == ("1", "t", "s")


def test_sendgrid_mapping_of_each_event_kind():
    payload = [
        {"email": "Ann@Example.com", "timestamp": 1700000000, "event": "delivered", "sg_event_id": "d1",
         "sg_message_id": "m1"},
        {"email": "ann@example.com", "timestamp": 1700000001, "event": "open", "sg_event_id": "o1"},
        {"email": "ann@example.com", "timestamp": 1700000002, "event": "click", "sg_event_id": "c1",
         "url": "https://x.test/a"},
        {"email": "ann@example.com", "timestamp": 1700000003, "event": "bounce", "sg_event_id": "b1",
         "type": "bounce", "reason": "550 no such user"},
        {"email": "ann@example.com", "timestamp": 1700000004, "event": "dropped", "sg_event_id": "x1"},
        {"email": "ann@example.com", "timestamp": 1700000005, "event": "unsubscribe", "sg_event_id": "u1"},
        {"email": "ann@example.com", "timestamp": 1700000006, "event": "spamreport", "sg_event_id": "s1"},
        {"email": "ann@example.com", "timestamp": 1700000007, "event": "processed", "sg_event_id": "p1"},
        {"email": "ann@example.com", "timestamp": 1700000008, "event": "deferred", "sg_event_id": "p2"},
    ]
    mapped = sendgrid_messages(payload)
    assert [m["event"] for m in mapped.messages] == [DELIVERED, OPENED, CLICKED, BOUNCED, BOUNCED, UNSUBSCRIBED,
                                                     UNSUBSCRIBED]
    assert mapped.skipped == 2
    first = mapped.messages[0]
    assert first["type"] == "track" and "userId" not in first
    assert first["messageId"] == "sendgrid-d1"
    assert first["anonymousId"] == email_anonymous_id("ann@example.com") == email_anonymous_id(" ANN@example.COM")
    assert first["anonymousId"].startswith("email:")
    assert first["context"]["traits"] == {"email": "ann@example.com"}
    assert first["properties"]["email"] == "ann@example.com"
    assert first["properties"]["email_message_id"] == "m1"
    assert first["timestamp"].startswith("2023-11-14T22:13:20")
    assert mapped.messages[2]["properties"]["url"] == "https://x.test/a"
    assert mapped.messages[3]["properties"]["reason"] == "550 no such user"
    assert mapped.messages[6]["properties"]["platform_event"] == "spamreport"
    assert len({m["anonymousId"] for m in mapped.messages}) == 1


def test_sendgrid_message_id_is_stable_and_bounded():
    long_id = "z" * 300
    a = sendgrid_messages([{"email": "a@x.test", "event": "open", "sg_event_id": long_id}]).messages[0]
    b = sendgrid_messages([{"email": "a@x.test", "event": "open", "sg_event_id": long_id}]).messages[0]
    assert a["messageId"] == b["messageId"] and len(a["messageId"]) <= 100
    no_id = {"email": "a@x.test", "event": "open", "timestamp": 5}
    assert sendgrid_messages([no_id]).messages[0]["messageId"] == sendgrid_messages([dict(no_id)]).messages[0][
        "messageId"]


@pytest.mark.parametrize("payload", [{}, "x", [1], [{"email": "a@x.test"}], [{"event": 5}]])
def test_sendgrid_malformed(payload):
    with pytest.raises(WebhookPayloadError):
        sendgrid_messages(payload)


def mailgun_body(event: str, **extra) -> dict:
    data = {"id": f"id-{event}", "event": event, "recipient": "Bo@Example.com", "timestamp": 1700000000.5,
            "message": {"headers": {"message-id": "abc@mg", "subject": "Hi"}}, **extra}
    return {"signature": {"timestamp": "1", "token": "t", "signature": "s"}, "event-data": data}


@pytest.mark.parametrize("event,extra,expected", [
    ("delivered", {}, DELIVERED),
    ("opened", {}, OPENED),
    ("clicked", {"url": "https://x.test"}, CLICKED),
    ("failed", {"severity": "permanent", "reason": "bounce"}, BOUNCED),
    ("unsubscribed", {}, UNSUBSCRIBED),
    ("complained", {}, UNSUBSCRIBED),
])
def test_mailgun_mapping(event, extra, expected):
    mapped = mailgun_messages(mailgun_body(event, **extra))
    assert mapped.skipped == 0
    (message,) = mapped.messages
    assert message["event"] == expected
    assert message["messageId"] == f"mailgun-id-{event}"
    assert message["anonymousId"] == email_anonymous_id("bo@example.com")
    assert message["context"]["traits"]["email"] == "bo@example.com"
    assert message["properties"]["subject"] == "Hi"


@pytest.mark.parametrize("event,extra", [("failed", {"severity": "temporary"}), ("accepted", {}), ("stored", {})])
def test_mailgun_skips_non_engagement(event, extra):
    mapped = mailgun_messages(mailgun_body(event, **extra))
    assert mapped.messages == [] and mapped.skipped == 1


@pytest.mark.parametrize("payload", [[], {"signature": {}}, {"event-data": "x"}, {"event-data": {"id": "1"}}])
def test_mailgun_malformed(payload):
    with pytest.raises(WebhookPayloadError):
        mailgun_messages(payload)


def test_body_json_shape_is_untouched_by_mapping():
    payload = [{"email": "a@x.test", "event": "open", "sg_event_id": "e"}]
    before = json.dumps(payload)
    sendgrid_messages(payload)
    assert json.dumps(payload) == before
