"""The rules a Segment-spec message must pass before it is stored (one set of rules for every way in).

``messages_validate`` turns raw message dicts into ``ValidEvent`` rows ready for a multi-row insert, or
``Rejection``s that say which message failed and why. It is pure (no database), so it is cheap to call on
every request and easy to test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from django.conf import settings

EVENT_TYPES = frozenset({"identify", "track", "page", "screen", "group", "alias"})
MAX_MESSAGE_ID_LENGTH = 100
FUTURE_TOLERANCE = timedelta(days=1)
MIN_YEAR, MAX_YEAR = 1900, 9000
REJECTED_PAYLOAD_CHARS = 4000
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
_DUMPS_OPTIONS = orjson.OPT_NON_STR_KEYS


@dataclass(slots=True)
class Rejection:
    """A message refused by validation: its position in the request, its messageId (if any) and why."""

    index: int
    message_id: str | None
    error: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "error": self.error, "detail": self.detail}


class ValidEvent(NamedTuple):
    """A message that passed validation, in the shape of a RawEvent row (payload already serialised: UTF-8 JSON,
    kept as bytes because the store sends it as bytes).
    A tuple, so that a request's rows transpose into column arrays with one ``zip``."""

    message_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None
    event: str | None
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    future_timestamp: bool
    payload: bytes


class _Invalid(Exception):
    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def parse_timestamp(value: Any, field: str, cache: dict | None = None) -> datetime | None:
    """ISO-8601 string -> aware datetime (naive means UTC); None/"" -> None; anything else is invalid.
    ``cache`` memoises strings already parsed in this request (SDK batches repeat sentAt and often timestamps)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or len(value) > 64:
        raise _Invalid("invalid_timestamp", f"{field} must be an ISO-8601 date-time string")
    if cache is not None:
        hit = cache.get(value)
        if hit is not None:
            return hit
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid("invalid_timestamp", f"{field} is not an ISO-8601 date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        # Far-off years can round-trip through Postgres into values Python cannot read back (year 0).
        raise _Invalid("invalid_timestamp", f"{field} must be between the years {MIN_YEAR} and {MAX_YEAR}")
    if cache is not None:
        cache[value] = parsed
    return parsed


class _Context:
    """Per-request constants and memo tables shared by the messages of one request."""

    __slots__ = ("received_at", "received_iso", "sent_at", "limit", "parsed", "iso", "times")

    def __init__(self, received_at: datetime, sent_at: Any, limit: int) -> None:
        self.received_at = received_at
        self.received_iso = received_at.isoformat()
        self.sent_at = sent_at
        self.limit = limit
        self.parsed: dict[str, datetime] = {}
        self.iso: dict[datetime, str] = {received_at: self.received_iso}
        self.times: dict[tuple, tuple] = {}

    def isoformat(self, value: datetime) -> str:
        text = self.iso.get(value)
        if text is None:
            text = self.iso[value] = value.isoformat()
        return text


def _identifier(message: dict, field: str) -> str | None:
    value = message.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("invalid_field", f"{field} must be a string")


def _strip_nul(value: Any) -> Any:
    """Postgres text/jsonb cannot hold U+0000: drop it everywhere (rare path, only when one is present)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k) if isinstance(k, str) else k: _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def _dumps(message: dict) -> bytes:
    try:
        return orjson.dumps(message, option=_DUMPS_OPTIONS, default=str)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise _Invalid("invalid_message", f"message cannot be serialised as JSON: {exc}") from None


def _times(raw_timestamp: Any, raw_original: Any, raw_sent: Any, ctx: _Context) -> tuple:
    """(timestamp, original, sent, future, and the three as ISO text) for one combination of the raw values;
    memoised per request by ``message_validate`` (SDK batches repeat sentAt and often timestamps)."""
    # Skew correction as Segment does it: the device clock's offset is (sentAt - originalTimestamp).
    received_at = ctx.received_at
    cache = ctx.parsed
    original = parse_timestamp(raw_timestamp, "timestamp", cache) or parse_timestamp(
        raw_original, "originalTimestamp", cache
    )
    sent = parse_timestamp(raw_sent, "sentAt", cache)
    try:
        if original is None:
            timestamp = received_at
        elif sent is None:
            timestamp = original
        else:
            timestamp = received_at - (sent - original)
    except OverflowError:
        raise _Invalid("invalid_timestamp", "timestamp and sentAt are too far apart") from None
    if timestamp.year < MIN_YEAR:
        raise _Invalid("invalid_timestamp", "timestamp and sentAt are too far apart")
    future = timestamp - received_at > FUTURE_TOLERANCE
    if future:
        timestamp = received_at
    return (
        timestamp,
        original,
        sent,
        future,
        ctx.isoformat(timestamp),
        None if original is None else ctx.isoformat(original),
        None if sent is None else ctx.isoformat(sent),
    )


def message_validate(message: Any, ctx: _Context) -> ValidEvent:
    """Validate one message and build its row. Raises ``_Invalid`` (``messages_validate`` collects them).

    The stored payload is the message as sent, minus ``writeKey``, plus server fields: ``messageId`` (generated
    when missing), ``receivedAt``, the skew-corrected ``timestamp`` and ``originalTimestamp``.
    """
    if not isinstance(message, dict):
        raise _Invalid("invalid_message", "each message must be a JSON object")
    mtype = message.get("type")
    if not isinstance(mtype, str) or mtype not in EVENT_TYPES:
        raise _Invalid("invalid_type", f"type must be one of {', '.join(sorted(EVENT_TYPES))}")

    raw_id = message.get("messageId")
    if raw_id is None or raw_id == "":
        message_id = str(uuid.uuid4())
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        message_id = str(raw_id)
        if len(message_id) > MAX_MESSAGE_ID_LENGTH:
            raise _Invalid("message_id_too_long", f"messageId is longer than {MAX_MESSAGE_ID_LENGTH} characters")
    else:
        raise _Invalid("invalid_field", "messageId must be a string")

    user_id = _identifier(message, "userId")
    anonymous_id = _identifier(message, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise _Invalid("missing_identity", "userId or anonymousId is required")

    event: str | None = None
    if mtype == "track":
        event = message.get("event")
        if not isinstance(event, str) or not event:
            raise _Invalid("missing_event", "track requires an event name")
    elif mtype == "page" or mtype == "screen":
        name = message.get("name")
        if name is not None and not isinstance(name, str):
            raise _Invalid("invalid_field", "name must be a string")
        event = name or None
    elif mtype == "group":
        if _identifier(message, "groupId") is None:
            raise _Invalid("missing_group_id", "group requires groupId")
    elif mtype == "alias":
        if _identifier(message, "previousId") is None:
            raise _Invalid("missing_previous_id", "alias requires previousId")

    for field in _OBJECT_FIELDS:
        value = message.get(field)
        if value is not None and not isinstance(value, dict):
            raise _Invalid("invalid_field", f"{field} must be a JSON object")

    raw_timestamp = message.get("timestamp")
    raw_original = message.get("originalTimestamp") if raw_timestamp is None or raw_timestamp == "" else None
    raw_sent = message.get("sentAt")
    if raw_sent is None:
        raw_sent = ctx.sent_at
    key = (raw_timestamp, raw_original, raw_sent)
    try:
        times = ctx.times.get(key)
    except TypeError:  # an unhashable value (list, object): _times rejects it
        times = _times(raw_timestamp, raw_original, raw_sent, ctx)
    if times is None:
        times = ctx.times[key] = _times(raw_timestamp, raw_original, raw_sent, ctx)
    timestamp, original, sent, future, timestamp_iso, original_iso, sent_iso = times

    payload = dict(message)
    payload.pop("writeKey", None)
    payload["messageId"] = message_id
    payload["receivedAt"] = ctx.received_iso
    payload["timestamp"] = timestamp_iso
    if original_iso is not None:
        payload["originalTimestamp"] = original_iso
    if sent_iso is not None:
        payload["sentAt"] = sent_iso
    body = _dumps(payload)
    if b"\\u0000" in body:
        payload = _strip_nul(payload)
        body = _dumps(payload)
        message_id = payload["messageId"]
        user_id = user_id and user_id.replace("\x00", "")
        anonymous_id = anonymous_id and anonymous_id.replace("\x00", "")
        event = event and event.replace("\x00", "")
    if len(body) > ctx.limit:
        raise _Invalid("event_too_large", f"event is {len(body)} bytes; the limit is {ctx.limit}")
    return ValidEvent(
        message_id, mtype, user_id, anonymous_id, event, timestamp, original, sent, future, body
    )


def rejected_payload_text(message: Any) -> str:
    """The message as text for RejectedMessage (truncated; never raises)."""
    try:
        text = orjson.dumps(message, option=_DUMPS_OPTIONS, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(message)
    return text.replace("\x00", "")[:REJECTED_PAYLOAD_CHARS]


def messages_validate(
    messages: list[Any], *, received_at: datetime, sent_at: Any = None
) -> tuple[list[ValidEvent], list[Rejection]]:
    """Validate every message; return the valid rows (first occurrence of each messageId) and the rejections."""
    valid: list[ValidEvent] = []
    rejections: list[Rejection] = []
    ctx = _Context(received_at, sent_at, settings.CDP_MAX_EVENT_BYTES)
    for index, message in enumerate(messages):
        try:
            valid.append(message_validate(message, ctx))
        except _Invalid as exc:
            raw_id = message.get("messageId") if isinstance(message, dict) else None
            message_id = raw_id[:200] if isinstance(raw_id, str) else None
            rejections.append(Rejection(index=index, message_id=message_id, error=exc.error, detail=exc.detail))
    return valid, rejections
