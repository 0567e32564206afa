"""Sources: list with volume chart, create, detail (settings, key rotation, snippet), try-it demo."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cdp.forms.sources import SourceCreateForm, SourceSettingsForm
from cdp.models import Source
from cdp.selectors.source_pages import can_manage_sources, empty_volume, sources_all, sources_hourly_volume
from cdp.services.email_webhooks import MAILGUN, PLATFORMS, SETTING_FOR_PLATFORM
from cdp.services.source_admin import source_settings_update
from cdp.services.sources import source_create, source_end_grace, source_for_write_key, source_rotate_key
from cdp.views.access import cdp_manager_required, cdp_viewer_required
from cdp.views.charts import volume_chart, volume_totals

KEY_PLACEHOLDER = "YOUR_WRITE_KEY"


def tracker_setup(request: HttpRequest, write_key: str | None = None) -> dict[str, str]:
    """Absolute URLs a website needs to load the tracker from this app and send to its /v1 API. Keys are stored
    hashed, so the snippet carries the key only right after it was made (creation, rotation)."""
    api_host = request.build_absolute_uri("/").rstrip("/")
    return {"api_host": api_host, "tracker_url": request.build_absolute_uri(static("js/tracker.js")),
            "write_key": write_key or KEY_PLACEHOLDER}


@cdp_viewer_required
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    sources = list(sources_all())
    volume = sources_hourly_volume(hours=24)
    blank = empty_volume(hours=24)
    rows = [{"source": s, "totals": volume_totals(volume.get(s.pk, blank))} for s in sources]
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
            messages.success(request, f"Source “{source.name}” created. Copy its write key now: it is not shown again.")
            return _detail(request, source, new_key=source.write_key)
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


def _detail(request: HttpRequest, source: Source, *, form: SourceSettingsForm | None = None,
            new_key: str | None = None) -> HttpResponse:
    can_manage = can_manage_sources(request.user)
    form = form or SourceSettingsForm(initial=_settings_form_initial(source))
    series = sources_hourly_volume(hours=24, source_id=source.pk).get(source.pk, empty_volume(hours=24))
    context = {
        "source": source, "can_manage": can_manage, "form": form, "new_key": new_key,
        "grace_active": bool(source.previous_key_hash and source.previous_key_expires_at
                             and source.previous_key_expires_at > timezone.now()),
        "webhooks": _webhooks(request, source),
        "chart": volume_chart(series), "totals": volume_totals(series),
        "grace_hours": settings.CDP_KEY_ROTATION_GRACE_HOURS,
    }
    if can_manage:
        context.update(tracker_setup(request, new_key))
    return render(request, "cdp/sources/detail.html", context, status=400 if form.errors else 200)


@cdp_viewer_required
@require_http_methods(["GET", "POST"])
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    if request.method == "POST":
        if not can_manage_sources(request.user):
            raise PermissionDenied("Only Marketing and admins manage CDP sources.")
        form = SourceSettingsForm(request.POST)
        if not form.is_valid():
            return _detail(request, source, form=form)
        data = form.cleaned_data
        changes = {}
        if source.kind == Source.Kind.EMAIL:
            changes = {key: data[key] for key in SETTING_FOR_PLATFORM.values()}
        source_settings_update(source_id=source.pk, enabled=data["enabled"],
                               allowed_origins=data["allowed_origins"],
                               rate_limit_per_second=data["rate_limit_per_second"], settings_changes=changes)
        messages.success(request, "Settings saved.")
        return redirect("cdp:source-detail", pk=source.pk)
    return _detail(request, source)


def _collecting_source_or_404(pk: int) -> Source:
    """A source whose key collects events: the CRM's own source has no usable key."""
    source = get_object_or_404(Source, pk=pk)
    if source.kind == Source.Kind.CRM:
        raise Http404("The CRM source has no write key.")
    return source


@cdp_manager_required
@require_POST
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new key, shown once in this answer; the previous one keeps working for the grace period."""
    source = _collecting_source_or_404(pk)
    key = source_rotate_key(source=source)
    messages.success(request, f"New write key issued: copy it now, it is not shown again. The previous key keeps "
                              f"working for {settings.CDP_KEY_ROTATION_GRACE_HOURS} hours.")
    return _detail(request, source, new_key=key)


@cdp_manager_required
@require_POST
def source_end_grace_view(request: HttpRequest, pk: int) -> HttpResponse:
    source = _collecting_source_or_404(pk)
    if source_end_grace(source=source):
        messages.success(request, "The previous write key no longer works.")
    return redirect("cdp:source-detail", pk=source.pk)


@cdp_manager_required
@require_http_methods(["GET", "POST"])
def source_try(request: HttpRequest, pk: int) -> HttpResponse:
    """A live demo page that loads the tracker for this source, to try identify/track/page by hand. Keys are
    stored hashed, so the page asks for the key (POST, never in a URL) and checks it belongs to this source."""
    source = _collecting_source_or_404(pk)
    key = (request.POST.get("write_key") or "").strip() if request.method == "POST" else ""
    error = ""
    if key and source_for_write_key(key) != source:
        key, error = "", "This is not a current write key of this source."
    context = {"source": source, "key_error": error, **tracker_setup(request, key or None), "has_key": bool(key)}
    return render(request, "cdp/sources/try.html", context, status=400 if error else 200)
