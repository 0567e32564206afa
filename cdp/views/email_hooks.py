"""Webhook endpoints of email sources: /cdp/hooks/email/<source_id>/<sendgrid|mailgun> (JSON in, JSON out)."""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cdp.models import Source
from cdp.services.email_webhooks import (
    PLATFORMS,
    WebhookNotConfigured,
    WebhookPayloadError,
    WebhookSignatureError,
    email_webhook_receive,
)
from cdp.services.webhook_replay import ReplayCheckUnavailable

MAX_BODY_BYTES = 5 * 1024 * 1024


def _error(status: int, error: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail}, status=status)


@csrf_exempt
@require_POST
def email_hook(request: HttpRequest, source_id: int, platform: str) -> JsonResponse:
    if platform not in PLATFORMS:
        return _error(404, "unknown_platform", f"use one of: {', '.join(PLATFORMS)}")
    source = Source.objects.filter(pk=source_id, kind=Source.Kind.EMAIL).first()
    if source is None:
        return _error(404, "unknown_source", "no email source with this id")
    if not source.enabled:
        return _error(403, "source_disabled", "this source is disabled")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _error(413, "too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        outcome = email_webhook_receive(source=source, platform=platform, body=request.body,
                                        headers=request.headers)
    except WebhookNotConfigured as exc:
        return _error(403, "not_configured", str(exc))
    except WebhookSignatureError as exc:
        return _error(401, "invalid_signature", str(exc))
    except WebhookPayloadError as exc:
        return _error(400, "malformed", str(exc))
    except ReplayCheckUnavailable:
        response = _error(503, "unavailable", "replays cannot be checked right now, retry later")
        response["Retry-After"] = str(settings.CDP_RETRY_AFTER_SECONDS)
        return response
    except (OperationalError, InterfaceError):
        response = _error(503, "unavailable", "the database is unavailable, retry later")
        response["Retry-After"] = str(settings.CDP_RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"accepted": outcome.accepted, "duplicates": outcome.duplicates,
                         "rejected": outcome.rejected, "skipped": outcome.skipped})
