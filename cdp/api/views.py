"""/v1/identify, /v1/track, ... /v1/batch and the short paths: parse, authenticate, limit, ingest, answer.

Status codes matter: Segment's SDKs retry 5xx and 429 and drop 4xx. 200 is sent only after the accepted events
are committed; a database outage answers 503 with Retry-After.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from cdp.api import auth, body, cors, throttle
from cdp.api.errors import ApiError, error_response, json_response
from cdp.models.sources import write_key_hash
from cdp.services.ingest import events_ingest, rejections_record
from cdp.services.validation import Rejection

log = logging.getLogger(__name__)

BATCH = "batch"


def _preflight(request) -> HttpResponse:
    origin = request.META.get("HTTP_ORIGIN")
    response = HttpResponse(status=204)
    if origin and cors.origin_allowed_by_any_source(request, origin):
        for name, value in cors.cors_headers(origin, preflight=True).items():
            response[name] = value
    return response


def _messages(kind: str, payload: dict) -> tuple[list, str | None]:
    """The messages of the request and the request-level sentAt."""
    sent_at = payload.get("sentAt")
    if kind != BATCH:
        message = dict(payload)
        message["type"] = kind
        return [message], None
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise ApiError(400, "invalid_body", "batch must be a JSON array of messages")
    if len(batch) > settings.CDP_MAX_BATCH_EVENTS:
        raise ApiError(413, "too_many_events", f"a batch holds at most {settings.CDP_MAX_BATCH_EVENTS} events")
    context, integrations = payload.get("context"), payload.get("integrations")
    if isinstance(context, dict) or isinstance(integrations, dict):
        for message in batch:
            if isinstance(message, dict):
                if isinstance(context, dict):
                    message.setdefault("context", context)
                if isinstance(integrations, dict):
                    message.setdefault("integrations", integrations)
    return batch, sent_at


def _request_rejected(source, exc: ApiError, payload, received_at) -> None:
    """Keep a refused request (bad body, too large, too many events) for the source's debugger."""
    if exc.status in (400, 413):
        rejections_record(
            source=source,
            rejections=[Rejection(index=0, message_id=None, error=exc.error, detail=exc.detail)],
            messages=[payload],
            received_at=received_at,
        )


def _event_count(kind: str, payload: dict) -> int:
    batch = payload.get("batch") if kind == BATCH else None
    return len(batch) if isinstance(batch, list) else 1


def _collect(request, kind: str, cors_out: dict[str, str]) -> HttpResponse:
    received_at = timezone.now()
    body.content_type_check(request)
    header_key = auth.basic_auth_key(request)
    cap = settings.CDP_MAX_BATCH_BYTES if kind == BATCH else settings.CDP_MAX_EVENT_BYTES
    try:
        payload = body.json_object_parse(body.body_read(request, cap=cap))
    except ApiError as exc:
        if header_key:  # keep the refused request for the source's debugger (401/403 first, as before)
            source = auth.source_authenticate(header_key)
            _request_rejected(source, exc, f"<{request.META.get('CONTENT_LENGTH') or 0} byte body>", received_at)
        raise
    key = header_key
    if key is None:
        key = payload.get("writeKey")
        if key is None and kind == BATCH and isinstance(payload.get("batch"), list) and payload["batch"]:
            first = payload["batch"][0]
            key = first.get("writeKey") if isinstance(first, dict) else None
    key = auth.key_present(key)
    digest = write_key_hash(key)
    events = _event_count(kind, payload)
    counts = throttle.count(request, key_digest=digest, events=events)  # one Redis round trip; 429 per address
    source = auth.source_authenticate(key, digest=digest, generation=counts.generation)

    origin = request.META.get("HTTP_ORIGIN")
    if origin:
        if not cors.origin_allowed(request, source, origin):
            raise ApiError(403, "origin_not_allowed", f"the source does not accept events from {origin[:200]}")
        cors_out.update(cors.cors_headers(origin))

    try:
        messages, sent_at = _messages(kind, payload)
    except ApiError as exc:
        _request_rejected(source, exc, payload, received_at)
        raise
    throttle.key_limit_check(source, counts, events)

    result = events_ingest(source=source, messages=messages, received_at=received_at, sent_at=sent_at)
    if kind != BATCH:
        if result.rejected:
            rejection = result.rejected[0]
            status = 413 if rejection.error == "event_too_large" else 400
            raise ApiError(status, rejection.error, rejection.detail)
        return json_response({"success": True}, headers=cors_out)
    return json_response(
        {
            "success": True,
            "accepted": result.valid,
            "duplicates": result.duplicates,
            "rejected": [r.as_dict() for r in result.rejected],
        },
        headers=cors_out,
    )


@csrf_exempt
def collect(request, kind: str) -> HttpResponse:
    """One Segment tracking API call (``kind`` is the message type, or "batch")."""
    if request.method == "OPTIONS":
        try:
            return _preflight(request)
        except (OperationalError, InterfaceError):
            return HttpResponse(status=204)
    cors_out: dict[str, str] = {}
    try:
        if request.method != "POST":
            raise ApiError(405, "method_not_allowed", "use POST", {"Allow": "POST, OPTIONS"})
        return _collect(request, kind, cors_out)
    except ApiError as exc:
        exc.headers.update(cors_out)
        return error_response(exc)
    except (OperationalError, InterfaceError) as exc:
        log.warning("cdp: database unavailable, answering 503: %s", exc)
        headers = {"Retry-After": str(settings.CDP_RETRY_AFTER_SECONDS), **cors_out}
        return error_response(ApiError(503, "unavailable", "the event store is unavailable; retry later", headers))
