"""The live debugger of a source: its latest accepted and rejected messages, refreshed by htmx polling."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from cdp.models import Source
from cdp.selectors.source_pages import source_debug_feed
from cdp.views.access import cdp_manager_required

FEED_SIZE = 50


@cdp_manager_required
@require_GET
def debugger(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    return render(request, "cdp/sources/debugger.html",
                  {"source": source, "entries": source_debug_feed(source=source, limit=FEED_SIZE)})


@cdp_manager_required
@require_GET
def debugger_feed(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    return render(request, "cdp/sources/_feed.html",
                  {"source": source, "entries": source_debug_feed(source=source, limit=FEED_SIZE)})
