"""The inbound mail endpoint: one URL per support address (or personal BCC address), with the secret token in it,
for Mailgun routes, SendGrid Inbound Parse and raw RFC 822 posts. Answers JSON; errors as {"error", "detail"}."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.services.tickets_inbound import (
    InboundRejected,
    inbound_process,
    parse_mailgun,
    parse_rfc822,
    parse_sendgrid,
)


def _error(status: int, error: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail}, status=status)


@csrf_exempt
@require_POST
def inbound(request, token: str, provider: str):
    try:
        if provider == "mailgun":
            message = parse_mailgun(request.POST, request.FILES)
        elif provider == "sendgrid":
            message = parse_sendgrid(request.POST, request.FILES)
        elif provider == "raw":
            raw = request.body if not request.content_type.startswith("multipart/") else \
                (request.FILES["message"].read() if "message" in request.FILES else request.POST.get("message", "")
                 .encode())
            if not raw:
                return _error(400, "empty", "Post the RFC 822 message as the request body.")
            message = parse_rfc822(raw)
        else:
            return _error(404, "unknown_provider", "Use mailgun, sendgrid or raw.")
        record = inbound_process(token=token, message=message)
    except InboundRejected as exc:
        return _error(403 if "signature" in str(exc) else 400, "rejected", str(exc))
    except LookupError:
        return _error(404, "unknown_address", "No support address has this inbound URL.")
    return JsonResponse({"status": record.outcome, "ticket": record.ticket.number if record.ticket else None})
