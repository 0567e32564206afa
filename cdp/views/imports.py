"""Bulk import pages: upload a CSV, map its columns, watch the Celery job's progress (htmx polling)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cdp.forms.imports import ImportUploadForm
from cdp.models import EventImport
from cdp.selectors.source_pages import imports_recent
from cdp.services.import_parsing import PLAIN_FIELDS, PROFILES, MappingError
from cdp.services.imports import event_import_create, event_import_start
from cdp.views.access import cdp_manager_required
from config.csv_export import csv_stream_response


@cdp_manager_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    return render(request, "cdp/imports/list.html", {"imports": imports_recent()})


@cdp_manager_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None,
                            initial={"source": request.GET.get("source")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = event_import_create(source=data["source"], kind=data["kind"], upload=data["file"],
                                      user=request.user)
        except MappingError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("cdp:import-detail", pk=job.pk)
    return render(request, "cdp/imports/new.html", {"form": form}, status=400 if form.errors else 200)


def _field_choices(job: EventImport) -> list[str]:
    plain = [f for f in PLAIN_FIELDS if not (f == "event" and job.kind == PROFILES)]
    return plain


@cdp_manager_required
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(EventImport.objects.select_related("source"), pk=pk)
    error = None
    mapping = dict(job.mapping)
    if request.method == "POST":
        mapping = {header: request.POST.get(f"map-{i}", "").strip() for i, header in enumerate(job.headers)}
        try:
            event_import_start(import_id=job.pk, mapping=mapping)
        except MappingError as exc:
            error = str(exc)
        else:
            messages.success(request, "Import queued.")
            return redirect("cdp:import-detail", pk=job.pk)
    columns = [{"index": i, "header": h, "target": mapping.get(h, "")} for i, h in enumerate(job.headers)]
    return render(request, "cdp/imports/detail.html", {
        "job": job, "columns": columns, "fields": _field_choices(job), "error": error,
        "prefix": "traits." if job.kind == PROFILES else "properties.",
    }, status=400 if error else 200)


@cdp_manager_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(EventImport, pk=pk)
    return render(request, "cdp/imports/_progress.html", {"job": job})


@cdp_manager_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(EventImport, pk=pk)
    rows = ([e.get("row"), e.get("error"), e.get("detail")] for e in job.errors)
    return csv_stream_response(f"import-{job.pk}-errors.csv", ["row", "error", "detail"], rows)
