"""Import pages: upload a CSV, map its columns, preview, start, watch progress (htmx), download row errors."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.csv_export import csv_stream_response
from crm.models import ImportJob
from crm.selectors.assignment import can_create_records
from crm.selectors.imports import import_jobs_visible_to
from crm.services.import_rows import import_fields
from crm.services.imports import (
    PREVIEW_ROWS,
    import_errors_rows,
    import_job_create,
    import_job_set_mapping,
    import_job_start,
    import_preview,
    import_rows_iter,
)


class UploadForm(forms.Form):
    object_type = forms.ChoiceField(choices=ImportJob.ObjectType.choices, label="Import")
    file = forms.FileField(label="CSV file", help_text="UTF-8, first row names the columns (comma or semicolon).")
    phone_region = forms.CharField(
        max_length=2, required=False, label="Country of local phone numbers",
        help_text="Two-letter code such as DE, used for numbers written without +country code.")


def _job(request, pk: int) -> ImportJob:
    job = import_jobs_visible_to(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import.")
    return job


def _own_job(request, pk: int) -> ImportJob:
    job = _job(request, pk)
    if job.created_by_id != request.user.pk:
        raise PermissionDenied("Only the person who uploaded the file may change this import.")
    return job


@login_required
def import_list(request):
    if not can_create_records(request.user):
        raise PermissionDenied("You may not import records.")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = import_job_create(actor=request.user, object_type=data["object_type"], upload=data["file"],
                                    phone_region=data["phone_region"])
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(key if key in form.fields else None, error)
        else:
            return redirect("import-map", pk=job.pk)
    jobs = import_jobs_visible_to(request.user)[:20]
    return render(request, "crm/imports/list.html", {"form": form, "jobs": jobs})


@login_required
def import_map(request, pk: int):
    job = _own_job(request, pk)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("import-detail", pk=job.pk)
    fields = import_fields(job.object_type)
    errors: dict[str, list[str]] = {}
    mapping = job.mapping
    if request.method == "POST":
        mapping = {str(i): request.POST.get(f"col_{i}", "") for i in range(len(job.headers))}
        try:
            import_job_set_mapping(job=job, actor=request.user, mapping=mapping)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect("import-preview", pk=job.pk)
    sample: list[str] = []
    for _number, cells in import_rows_iter(job=job):
        sample = cells
        break
    columns = [{"index": str(i), "header": header, "sample": sample[i] if i < len(sample) else "",
                "field": mapping.get(str(i), ""), "errors": errors.get(str(i), [])}
               for i, header in enumerate(job.headers)]
    return render(request, "crm/imports/map.html", {
        "job": job, "columns": columns, "fields": fields.items(), "form_errors": errors.get("__all__", [])})


@login_required
def import_preview_page(request, pk: int):
    job = _own_job(request, pk)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("import-detail", pk=job.pk)
    plans = import_preview(job=job, actor=request.user)
    fields = import_fields(job.object_type)
    mapped = [(int(i), job.headers[int(i)], fields.get(f, f)) for i, f in sorted(job.mapping.items(),
                                                                                  key=lambda kv: int(kv[0]))]
    rows = [{"plan": p, "cells": [p.cells[i] if i < len(p.cells) else "" for i, _h, _f in mapped]} for p in plans]
    return render(request, "crm/imports/preview.html", {
        "job": job, "mapped": mapped, "rows": rows, "preview_rows": PREVIEW_ROWS,
        "errors_in_preview": sum(p.action == "error" for p in plans)})


@login_required
@require_POST
def import_start(request, pk: int):
    job = _own_job(request, pk)
    try:
        import_job_start(job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("import-detail", pk=job.pk)


@login_required
def import_detail(request, pk: int):
    return render(request, "crm/imports/detail.html", {"job": _job(request, pk)})


@login_required
def import_progress(request, pk: int):
    """The progress fragment; it polls itself (htmx) while the job is queued or running."""
    return render(request, "crm/imports/_progress.html", {"job": _job(request, pk)})


@login_required
def import_errors_csv(request, pk: int):
    job = _job(request, pk)
    header, rows = import_errors_rows(job=job)
    return csv_stream_response(f"import-{job.pk}-errors.csv", header, rows)
