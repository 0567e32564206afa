"""Member exports and frozen lists for those who build segments: download a kept export file (scheduled exports,
written by the beat sweep) and freeze a segment into a static list. The on-demand members CSV is the segment
page's ``export`` view."""

from __future__ import annotations

import os

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from segments.models import Segment
from segments.selectors.destinations import export_files_visible_to
from segments.services.exports import segment_freeze
from segments.views import builder_required


@builder_required
@require_GET
def export_file_download(request, pk: int):
    export = get_object_or_404(export_files_visible_to(request.user), pk=pk)
    try:
        handle = export.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("This export file is no longer stored.") from exc
    return FileResponse(handle, as_attachment=True, filename=os.path.basename(export.file.name),
                        content_type="text/csv; charset=utf-8")


@builder_required
@require_POST
def freeze(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    try:
        frozen = segment_freeze(segment=segment, name=request.POST.get("name", ""), by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("segments:detail", pk=segment.pk)
    messages.success(request, f"Frozen: {frozen.size} member(s) copied into the static list “{frozen.name}”.")
    return redirect("segments:detail", pk=frozen.pk)
