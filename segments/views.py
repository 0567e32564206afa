"""Segment pages: list, builder (new/edit), segment page with members, export, refresh and duplicate; the
builder's JSON helpers (live preview, suggestions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import OperationalError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.csv_export import csv_stream_response
from segments.models import Segment
from segments.rules.validation import RuleError
from segments.selectors import suggestions
from segments.selectors.access import can_build_segments
from segments.selectors.destinations import MEMBER_CSV_HEADER, member_csv_rows
from segments.selectors.evaluation import rule_preview
from segments.selectors.memberships import segment_recent_changes, segment_sizes
from segments.selectors.pages import (
    member_rows,
    members_search,
    profile_names,
    segment_words,
    segments_overview,
    sparkline_points,
)
from segments.services.definitions import rule_check
from segments.services.refresh import segment_refresh_request
from segments.services.segments import segment_create, segment_duplicate, segment_update

PREVIEW_TIMEOUT_MS = 3000


def role_required(may: Callable[[AbstractBaseUser], bool], message: str):
    """A view decorator: signed in, and ``may(user)``, else 403 with ``message``."""
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not may(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


builder_required = role_required(can_build_segments, "Segments are built by Marketing and admins.")


@builder_required
def index(request):
    rows = [{"segment": r.segment, "points": sparkline_points(r.sizes), "sizes": r.sizes}
            for r in segments_overview()]
    return render(request, "segments/index.html", {"rows": rows})


def _form_values(request) -> dict:
    raw = request.POST.get("definition", "")
    try:
        definition = json.loads(raw) if raw else {"type": "all", "conditions": []}
    except ValueError:
        definition = raw
    interval = request.POST.get("interval_minutes", "60")
    return {"name": request.POST.get("name", ""), "description": request.POST.get("description", ""),
            "mode": request.POST.get("mode", Segment.Mode.REALTIME), "definition": definition,
            "interval_minutes": int(interval) if interval.isdigit() else -1}


def _builder(request, segment: Segment | None):
    values = {"name": segment.name if segment else "", "description": segment.description if segment else "",
              "mode": segment.mode if segment else Segment.Mode.REALTIME,
              "interval_minutes": segment.interval_minutes if segment else 60,
              "definition": segment.definition if segment and segment.definition else {"type": "all",
                                                                                       "conditions": []}}
    errors: list[dict] = []
    if request.method == "POST":
        values = _form_values(request)
        try:
            if segment is None:
                segment = segment_create(by=request.user, **values)
                messages.success(request, f"Segment “{segment.name}” saved; its members are being computed.")
            else:
                segment = segment_update(segment=segment, **values)
                messages.success(request, f"Segment “{segment.name}” saved.")
            return redirect("segments:detail", pk=segment.pk)
        except RuleError as exc:
            errors = exc.errors
    return render(request, "segments/builder.html", {
        "segment": segment, "values": values, "errors": errors, "modes": Segment.Mode.choices[:2],
        "field_errors": {e["path"]: e["message"] for e in errors if not e["path"].startswith("definition")},
        "builder_config": {"definition": values["definition"], "errors": errors,
                           "catalog": suggestions.builder_catalog(exclude=segment.pk if segment else None),
                           "preview_url": reverse("segments:preview"), "suggest_url": reverse("segments:suggest")},
    }, status=400 if errors else 200)


@builder_required
def create(request):
    return _builder(request, None)


@builder_required
def edit(request, pk: int):
    return _builder(request, get_object_or_404(Segment, pk=pk))


@builder_required
def detail(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    query = request.GET.get("q", "")
    page = Paginator(members_search(segment, query), 25).get_page(request.GET.get("page"))
    sizes = segment_sizes(segment)
    chart = None
    if sizes:
        from config.charts import line_chart  # noqa: PLC0415 - pandas/plotly only where a chart is drawn

        chart = line_chart([{"at": s.at, "size": s.size} for s in sizes], x="at", y="size", title="Size over time",
                           x_label="Refreshed", y_label="Members", labels={"size": "Members"})
    changes = segment_recent_changes(segment)
    names = profile_names([c["profile_id"] for c in changes])
    for change in changes:
        change["name"] = names[change["profile_id"]]
    from segments.destination_views import destinations_context  # noqa: PLC0415 - it imports this module

    return render(request, "segments/detail.html", {
        "segment": segment, "words": segment_words(segment), "page": page, "members": member_rows(page.object_list),
        "q": query, "chart": chart, "changes": changes, **destinations_context(request, segment),
    })


@builder_required
@require_GET
def export(request, pk: int):
    """The members (matching ``q``) as a streamed CSV: nothing is held in memory, cells are formula-safe."""
    segment = get_object_or_404(Segment, pk=pk)
    return csv_stream_response(f"segment-{segment.pk}-members.csv", MEMBER_CSV_HEADER,
                               member_csv_rows(segment, request.GET.get("q", "")))


@builder_required
@require_POST
def refresh(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    segment_refresh_request(segment=segment)
    messages.success(request, "Refresh requested.")
    return redirect("segments:detail", pk=segment.pk)


@builder_required
@require_POST
def duplicate(request, pk: int):
    copy = segment_duplicate(segment=get_object_or_404(Segment, pk=pk), by=request.user)
    messages.success(request, f"Duplicated as “{copy.name}”.")
    return redirect("segments:edit", pk=copy.pk)


@builder_required
@require_POST
def preview(request):
    """JSON {count, sample: [{id, name, url}]} for the rule in the request body, or {errors} (400), or a
    timeout error (the rule is too heavy for a live preview)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "invalid_json", "detail": "Send the rule as JSON."}, status=400)
    segment_id = body.get("segment_id") if isinstance(body, dict) and isinstance(body.get("segment_id"), int) else None
    try:
        norm = rule_check(body.get("definition") if isinstance(body, dict) else None, segment_id=segment_id)
    except RuleError as exc:
        return JsonResponse({"error": "invalid_rule", "detail": str(exc), "errors": exc.errors}, status=400)
    try:
        count, ids = rule_preview(norm, sample=10, timeout_ms=PREVIEW_TIMEOUT_MS)
    except OperationalError:
        return JsonResponse({"error": "too_slow", "detail": "This rule takes too long to count live; save it and "
                             "the refresh will compute it."}, status=422)
    names = profile_names(ids)
    sample = [{"id": pid, "name": names[pid], "url": reverse("cdp:profile-detail", args=[pid])} for pid in ids]
    return JsonResponse({"count": count, "sample": sample})


@builder_required
@require_GET
def suggest(request):
    kind = request.GET.get("kind", "")
    values = suggestions.suggest(kind, prefix=request.GET.get("q", "")[:100], event=request.GET.get("event", "")[:200])
    if values is None:
        return JsonResponse({"error": "unknown_kind", "detail": "kind is event, trait, computed, account, property, "
                             "or tag"}, status=400)
    return JsonResponse({"values": values})
