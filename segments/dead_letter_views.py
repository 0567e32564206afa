"""The dead-letter pages (admins): webhook deliveries that failed their last attempt, to inspect (payload, last
error), replay (one, the selected ones or all, with the same delivery id) or discard."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.selectors.visibility import is_admin
from segments.models import Segment
from segments.selectors.destinations import dead_letters
from segments.services.destinations import deliveries_discard, deliveries_replay, deliveries_replay_dead
from segments.views import role_required

PAGE_SIZE = 50


admin_required = role_required(is_admin, "The dead-letter list is handled by admins.")


def _segment_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


@admin_required
@require_GET
def dead_letter_list(request):
    segment_id = _segment_id(request.GET.get("segment", ""))
    page = Paginator(dead_letters(segment_id=segment_id), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "segments/dead_letters/index.html", {
        "page": page, "segment": Segment.objects.filter(pk=segment_id).first() if segment_id else None})


@admin_required
@require_GET
def dead_letter_detail(request, delivery_pk: int):
    delivery = get_object_or_404(dead_letters(), pk=delivery_pk)
    try:
        payload = json.dumps(json.loads(delivery.body), indent=2, ensure_ascii=False)
    except ValueError:
        payload = delivery.body
    return render(request, "segments/dead_letters/detail.html", {"delivery": delivery, "payload": payload})


@admin_required
@require_POST
def dead_letters_act(request):
    """Replay or discard the selected deliveries (``ids``), or replay all (of ``segment`` if given)."""
    action = request.POST.get("action", "")
    segment_id = _segment_id(request.POST.get("segment", ""))
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit() and len(v) < 19]
    back = redirect(reverse("segments:dead-letters") + (f"?segment={segment_id}" if segment_id else ""))
    if action == "replay_all":
        count = deliveries_replay_dead(segment_id=segment_id)
        messages.success(request, f"{count} deliveries queued again.")
    elif action not in ("replay", "discard"):
        messages.error(request, "Choose Replay or Discard.")
    elif not ids:
        messages.error(request, "Select the deliveries first.")
    elif action == "replay":
        count = deliveries_replay(delivery_ids=dead_letters().filter(pk__in=ids).values_list("pk", flat=True))
        messages.success(request, f"{count} deliveries queued again (same delivery ids).")
    else:
        count = deliveries_discard(delivery_ids=ids)
        messages.success(request, f"{count} deliveries discarded.")
    return back
