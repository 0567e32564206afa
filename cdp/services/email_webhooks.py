"""Email engagement webhooks (SendGrid Event Webhook, Mailgun webhooks) turned into track events.

Signature checks and payload mapping are pure functions; ``email_webhook_ingest`` hands the mapped
messages to the one ingestion path (``cdp.services.ingest.events_ingest``) of the email source.

Events are keyed by email: ``userId`` stays empty, ``anonymousId`` is derived deterministically from the
lower-cased address (``email:<sha256 prefix>``) and the address is put in ``context.traits.email`` and
``context.externalIds`` so identity resolution can join it to a profile. ``messageId`` comes from the
platform's own event id, so a webhook retried by the platform is stored once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from cdp.services.webhook_replay import token_claim, token_release

SENDGRID = "sendgrid"
MAILGUN = "mailgun"
PLATFORMS = (SENDGRID, MAILGUN)

# Keys in Source.settings holding each platform's verification secret.
SENDGRID_KEY_SETTING = "sendgrid_public_key"
MAILGUN_KEY_SETTING = "mailgun_signing_key"
SETTING_FOR_PLATFORM = {SENDGRID: SENDGRID_KEY_SETTING, MAILGUN: MAILGUN_KEY_SETTING}

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

DELIVERED, OPENED, CLICKED, BOUNCED, UNSUBSCRIBED = (
    "Email Delivered", "Email Opened", "Email Clicked", "Email Bounced", "Email Unsubscribed",
)

# Platform event name -> our event name. Events not listed (processed, deferred, accepted, temporary
# failures...) say nothing about engagement and are skipped.
SENDGRID_EVENTS = {
    "delivered": DELIVERED,
    "open": OPENED,
    "click": CLICKED,
    "bounce": BOUNCED,
    "dropped": BOUNCED,  # never delivered (invalid address, earlier bounce, suppression)
    "unsubscribe": UNSUBSCRIBED,
    "group_unsubscribe": UNSUBSCRIBED,
    "spamreport": UNSUBSCRIBED,  # the recipient asked for no more mail, the strongest opt-out
}
MAILGUN_EVENTS = {
    "delivered": DELIVERED,
    "opened": OPENED,
    "clicked": CLICKED,
    "unsubscribed": UNSUBSCRIBED,
    "complained": UNSUBSCRIBED,
    # "failed" maps to BOUNCED only when permanent, see mailgun_messages
}

MAX_MESSAGE_ID = 100
# Signed requests older (or further in the future) than this are refused. It covers the platforms' retry
# windows (SendGrid retries for up to 72 hours) and stays inside the dedupe window (CDP_DEDUPE_WINDOW_DAYS,
# 7 days), so a captured request replayed later can never store its events twice.
MAX_SIGNATURE_AGE_SECONDS = 3 * 24 * 3600 + 3600
# Mailgun signs only timestamp + token, not the events: a captured signature could carry forged events. So its
# signatures are accepted for 5 minutes and each token once (remembered for twice as long).
MAILGUN_MAX_AGE_SECONDS = 5 * 60
MAILGUN_TOKEN_TTL_SECONDS = 2 * MAILGUN_MAX_AGE_SECONDS
MAX_EVENTS_PER_REQUEST = 2500


class WebhookPayloadError(ValueError):
    """The body is not the platform's webhook shape (answered with 400)."""


@dataclass
class MappedEvents:
    messages: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # platform events that carry no engagement meaning (processed, deferred, ...)


# --- signatures -------------------------------------------------------------------------------------------


def _load_ec_public_key(public_key: str) -> ec.EllipticCurvePublicKey:
    text = public_key.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
    else:  # SendGrid shows the key as base64 DER (SubjectPublicKeyInfo) without PEM armour
        key = load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve public key")
    return key


def sendgrid_public_key_is_valid(public_key: str) -> bool:
    try:
        _load_ec_public_key(public_key)
    except (ValueError, TypeError, binascii.Error):
        return False
    return True


def sendgrid_signature_valid(*, public_key: str, payload: bytes, signature: str, timestamp: str) -> bool:
    """True when ``signature`` (base64 DER ECDSA/SHA-256) signs ``timestamp + payload`` under ``public_key``.

    ``payload`` must be the raw request body, byte for byte. ``public_key`` is base64 DER or PEM.
    """
    if not (public_key and signature and timestamp):
        return False
    try:
        key = _load_ec_public_key(public_key)
        raw_signature = base64.b64decode(signature, validate=True)
        key.verify(raw_signature, timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False
    return True


def mailgun_signature_valid(*, signing_key: str, timestamp: str, token: str, signature: str) -> bool:
    """True when ``signature`` is the hex HMAC-SHA256 of ``timestamp + token`` under the webhook signing key."""
    if not (signing_key and timestamp and token and signature):
        return False
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, str(signature).lower())


# --- mapping ----------------------------------------------------------------------------------------------


def email_anonymous_id(email: str) -> str:
    """The anonymous id an email address always gets (so events of one address share an identity)."""
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _message_id(platform: str, event_id: str) -> str:
    candidate = f"{platform}-{event_id}"
    if len(candidate) <= MAX_MESSAGE_ID:
        return candidate
    return f"{platform}-sha-" + hashlib.sha256(event_id.encode()).hexdigest()


def _iso_from_epoch(value: Any) -> str | None:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _track(*, platform: str, event_id: str, event: str, email: str, timestamp: Any,
           properties: dict[str, Any]) -> dict[str, Any]:
    email = email.strip().lower()
    message: dict[str, Any] = {
        "type": "track",
        "event": event,
        "messageId": _message_id(platform, event_id),
        "anonymousId": email_anonymous_id(email),
        "properties": {"email": email, "platform": platform,
                       **{k: v for k, v in properties.items() if v not in (None, "", [])}},
        "context": {
            "traits": {"email": email},
            "externalIds": [{"id": email, "type": "email", "collection": "users", "encoding": "none"}],
            "library": {"name": f"{platform}-webhook", "version": "1"},
        },
    }
    iso = _iso_from_epoch(timestamp)
    if iso:
        message["timestamp"] = iso
    return message


def _fallback_event_id(raw: dict[str, Any]) -> str:
    """A stable id for an event lacking the platform id: the hash of its canonical JSON."""
    return "h-" + hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:40]


def sendgrid_messages(payload: Any) -> MappedEvents:
    """Map a decoded SendGrid Event Webhook body (a JSON array of events) to track messages."""
    if not isinstance(payload, list):
        raise WebhookPayloadError("expected a JSON array of SendGrid events")
    if len(payload) > MAX_EVENTS_PER_REQUEST:
        raise WebhookPayloadError(f"more than {MAX_EVENTS_PER_REQUEST} events in one request")
    mapped = MappedEvents()
    for index, raw in enumerate(payload):
        if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
            raise WebhookPayloadError(f"event {index} is not an object with an 'event' name")
        name = SENDGRID_EVENTS.get(raw["event"])
        email = raw.get("email")
        if name is None or not isinstance(email, str) or "@" not in email:
            mapped.skipped += 1
            continue
        event_id = str(raw.get("sg_event_id") or _fallback_event_id(raw))
        properties = {
            "platform_event": raw["event"],
            "email_message_id": raw.get("sg_message_id"),
            "url": raw.get("url"),
            "category": raw.get("category"),
            "reason": raw.get("reason"),
            "status": raw.get("status"),
            "bounce_type": raw.get("type") if raw["event"] == "bounce" else None,
            "user_agent": raw.get("useragent"),
            "ip": raw.get("ip"),
            "asm_group_id": raw.get("asm_group_id"),
        }
        mapped.messages.append(_track(platform=SENDGRID, event_id=event_id, event=name, email=email,
                                      timestamp=raw.get("timestamp"), properties=properties))
    return mapped


def mailgun_signature_fields(payload: Any) -> tuple[str, str, str]:
    """(timestamp, token, signature) from a Mailgun webhook body; raises WebhookPayloadError if absent."""
    if not isinstance(payload, dict):
        raise WebhookPayloadError("expected a JSON object with 'signature' and 'event-data'")
    sig = payload.get("signature")
    if not isinstance(sig, dict) or not all(isinstance(sig.get(k), str | int) for k in ("timestamp", "token",
                                                                                          "signature")):
        raise WebhookPayloadError("missing 'signature' object with timestamp, token and signature")
    return str(sig["timestamp"]), str(sig["token"]), str(sig["signature"])


def mailgun_messages(payload: Any) -> MappedEvents:
    """Map a decoded Mailgun webhook body (``{"signature": {...}, "event-data": {...}}``) to track messages."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event-data"), dict):
        raise WebhookPayloadError("expected a JSON object with an 'event-data' object")
    data = payload["event-data"]
    kind = data.get("event")
    if not isinstance(kind, str):
        raise WebhookPayloadError("'event-data' has no 'event' name")
    mapped = MappedEvents()
    if kind == "failed":
        name = BOUNCED if data.get("severity") == "permanent" else None
    else:
        name = MAILGUN_EVENTS.get(kind)
    email = data.get("recipient")
    if name is None or not isinstance(email, str) or "@" not in email:
        mapped.skipped = 1
        return mapped
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    delivery = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    properties = {
        "platform_event": kind,
        "email_message_id": headers.get("message-id"),
        "subject": headers.get("subject"),
        "url": data.get("url"),
        "tags": data.get("tags"),
        "reason": data.get("reason"),
        "severity": data.get("severity"),
        "status": delivery.get("code"),
        "description": delivery.get("description") or delivery.get("message"),
    }
    event_id = str(data.get("id") or _fallback_event_id(data))
    mapped.messages.append(_track(platform=MAILGUN, event_id=event_id, event=name, email=email,
                                  timestamp=data.get("timestamp"), properties=properties))
    return mapped


# --- receiving ---------------------------------------------------------------------------------------------


class WebhookSignatureError(Exception):
    """Missing or wrong signature (answered with 401)."""


class WebhookNotConfigured(Exception):
    """The source has no verification key for this platform (answered with 403)."""


@dataclass
class WebhookOutcome:
    accepted: int
    duplicates: int
    rejected: int
    skipped: int


def email_webhook_receive(*, source: Any, platform: str, body: bytes, headers: Mapping[str, str],
                          now: float | None = None) -> WebhookOutcome:
    """Verify a webhook request of ``platform`` for the email ``source`` and ingest its events.

    Raises WebhookNotConfigured, WebhookSignatureError (bad signature, signed more than
    MAX_SIGNATURE_AGE_SECONDS (Mailgun: MAILGUN_MAX_AGE_SECONDS) from ``now``, or a Mailgun token used before:
    nothing is stored), ReplayCheckUnavailable (Redis down: Mailgun tokens cannot be checked) or
    WebhookPayloadError. The signature is
    checked on the raw ``body`` before anything in it is trusted.
    """
    if platform not in PLATFORMS:
        raise WebhookPayloadError(f"unknown platform '{platform}'")
    secret = (source.settings or {}).get(SETTING_FOR_PLATFORM[platform]) or ""
    if not secret:
        raise WebhookNotConfigured(f"set the {platform} verification key on the source first")
    if platform == SENDGRID:
        signature = headers.get(SENDGRID_SIGNATURE_HEADER, "")
        timestamp = headers.get(SENDGRID_TIMESTAMP_HEADER, "")
        if not sendgrid_signature_valid(public_key=secret, payload=body, signature=signature, timestamp=timestamp):
            raise WebhookSignatureError("the SendGrid signature does not verify")
        _check_age(timestamp, now=now)
        mapped = sendgrid_messages(_json(body))
    else:
        payload = _json(body)
        timestamp, token, signature = mailgun_signature_fields(payload)
        if not mailgun_signature_valid(signing_key=secret, timestamp=timestamp, token=token, signature=signature):
            raise WebhookSignatureError("the Mailgun signature does not verify")
        _check_age(timestamp, now=now, max_age=MAILGUN_MAX_AGE_SECONDS)
        mapped = mailgun_messages(payload)
        scope = f"mailgun:{source.pk}"
        if not token_claim(scope=scope, token=token, ttl_seconds=MAILGUN_TOKEN_TTL_SECONDS):
            raise WebhookSignatureError("this signature token was used already: a replay?")
        try:
            return _ingest(source, mapped)
        except Exception:
            token_release(scope=scope, token=token)  # nothing stored: the platform's retry must get through
            raise
    return _ingest(source, mapped)


def _ingest(source: Any, mapped: MappedEvents) -> WebhookOutcome:
    from cdp.services.ingest import events_ingest  # noqa: PLC0415 - keeps the pure functions importable alone

    if not mapped.messages:
        return WebhookOutcome(accepted=0, duplicates=0, rejected=0, skipped=mapped.skipped)
    result = events_ingest(source=source, messages=mapped.messages)
    return WebhookOutcome(accepted=result.accepted, duplicates=result.duplicates, rejected=len(result.rejected),
                          skipped=mapped.skipped)


def _check_age(timestamp: str, *, now: float | None, max_age: int = MAX_SIGNATURE_AGE_SECONDS) -> None:
    try:
        signed_at = float(timestamp)
    except ValueError:
        raise WebhookSignatureError("the signature timestamp is not a number") from None
    if abs((time.time() if now is None else now) - signed_at) > max_age:
        raise WebhookSignatureError("the signature timestamp is too old (or in the future): a replay?")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError(f"the body is not JSON: {exc}") from exc
