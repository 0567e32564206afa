"""Sources: list with volume chart, create, detail (settings, key rotation, snippet), try-it demo."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cdp.forms.sources import SourceCreateForm, SourceSettingsForm
from cdp.models import Source
from cdp.selectors.source_pages import can_manage_sources, empty_volume, sources_all, sources_hourly_volume
from cdp.services.email_webhooks import MAILGUN, PLATFORMS, SETTING_FOR_PLATFORM
from cdp.services.source_admin import source_settings_update
from cdp.services.sources import source_create, source_rotate_key
from cdp.views.access import cdp_manager_required, cdp_viewer_required
from cdp.views.charts import volume_chart, volume_totals


def mask_key(key: str) -> str:
    return f"{key[:4]}{'•' * 12}" if key else ""


def tracker_setup(request: HttpRequest, source: Source) -> dict[str, str]:
    """Absolute URLs a website needs to load the tracker from this app and send to its /v1 API."""
    api_host = request.build_absolute_uri("/").rstrip("/")
    return {"api_host": api_host, "tracker_url": request.build_absolute_uri(static("js/tracker.js")),
            "write_key": source.write_key}


@cdp_viewer_required
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    sources = list(sources_all())
    volume = sources_hourly_volume(hours=24)
    blank = empty_volume(hours=24)
    rows = [{"source": s, "masked_key": mask_key(s.write_key), "totals": volume_totals(volume.get(s.pk, blank))}
            for s in sources]
    return render(request, "cdp/sources/list.html", {"rows": rows, "can_manage": can_manage_sources(request.user)})


@cdp_manager_required
@require_http_methods(["GET", "POST"])
def source_new(request: HttpRequest) -> HttpResponse:
    form = SourceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = source_create(name=data["name"], kind=data["kind"], allowed_origins=data["allowed_origins"],
                                   rate_limit_per_second=data["rate_limit_per_second"])
        except IntegrityError:
            form.add_error("name", "A source with this name exists already.")
        else:
            messages.success(request, f"Source “{source.name}” created.")
            return redirect("cdp:source-detail", pk=source.pk)
    return render(request, "cdp/sources/new.html", {"form": form}, status=400 if form.errors else 200)


def _settings_form_initial(source: Source) -> dict:
    return {"enabled": source.enabled, "allowed_origins": source.allowed_origins,
            "rate_limit_per_second": source.rate_limit_per_second}


def _webhooks(request: HttpRequest, source: Source) -> list[dict]:
    if source.kind != Source.Kind.EMAIL:
        return []
    return [{"platform": platform, "label": "Mailgun" if platform == MAILGUN else "SendGrid",
             "url": request.build_absolute_uri(reverse("cdp:email-hook", args=[source.pk, platform])),
             "configured": bool((source.settings or {}).get(SETTING_FOR_PLATFORM[platform]))}
            for platform in PLATFORMS]


@cdp_viewer_required
@require_http_methods(["GET", "POST"])
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    can_manage = can_manage_sources(request.user)
    form = SourceSettingsForm(initial=_settings_form_initial(source))
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only Marketing and admins manage CDP sources.")
        form = SourceSettingsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            changes = {}
            if source.kind == Source.Kind.EMAIL:
                changes = {key: data[key] for key in SETTING_FOR_PLATFORM.values()}
            source_settings_update(source_id=source.pk, enabled=data["enabled"],
                                   allowed_origins=data["allowed_origins"],
                                   rate_limit_per_second=data["rate_limit_per_second"], settings_changes=changes)
            messages.success(request, "Settings saved.")
            return redirect("cdp:source-detail", pk=source.pk)
    series = sources_hourly_volume(hours=24, source_id=source.pk).get(source.pk, empty_volume(hours=24))
    context = {
        "source": source, "can_manage": can_manage, "form": form, "masked_key": mask_key(source.write_key),
        "webhooks": _webhooks(request, source),
        "chart": volume_chart(series), "totals": volume_totals(series),
        "grace_hours": settings.CDP_KEY_ROTATION_GRACE_HOURS,
    }
    if can_manage:
        context.update(tracker_setup(request, source))
    return render(request, "cdp/sources/detail.html", context, status=400 if form.errors else 200)


@cdp_manager_required
@require_GET
def source_key(request: HttpRequest, pk: int) -> HttpResponse:
    """The write key in clear (htmx swaps it in for the masked one)."""
    source = get_object_or_404(Source, pk=pk)
    return render(request, "cdp/sources/_key.html", {"source": source})


@cdp_manager_required
@require_POST
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    source_rotate_key(source=source)
    messages.success(request, f"New write key issued. The previous key keeps working for "
                              f"{settings.CDP_KEY_ROTATION_GRACE_HOURS} hours.")
    return redirect("cdp:source-detail", pk=source.pk)


@cdp_manager_required
@require_GET
def source_try(request: HttpRequest, pk: int) -> HttpResponse:
    """A live demo page that loads the tracker for this source, to try identify/track/page by hand."""
    source = get_object_or_404(Source, pk=pk)
    return render(request, "cdp/sources/try.html", {"source": source, **tracker_setup(request, source)})
