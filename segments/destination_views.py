"""Destination pages of a segment (Marketing and admins): add a webhook or a CRM action, change or remove one,
rotate a webhook's secret, and a destination's delivery log (webhooks) or runs (CRM actions). A new secret is
shown once, on the segment page right after (kept in the session until that page pops it)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.selectors.visibility import is_admin
from segments.destination_forms import ActionForm, WebhookForm
from segments.models import Delivery, Destination, Segment
from segments.selectors.destinations import (
    destination_deliveries,
    destination_runs,
    destination_stats,
    segment_destinations,
)
from segments.services.destinations import (
    destination_create,
    destination_delete,
    destination_rotate_secret,
    destination_update,
)
from segments.views import builder_required

SECRET_KEY = "segments_new_secret"
LOG_PAGE_SIZE = 50


def destinations_context(request, segment: Segment) -> dict:
    """What the segment page's Destinations section shows: each destination with its last 24 hours, a secret to
    show once (popped from the session), and whether the user handles dead letters."""
    shown = request.session.pop(SECRET_KEY, None)
    return {"destinations": segment_destinations(segment),
            "new_secret": shown if shown and shown.get("segment") == segment.pk else None,
            "can_handle_dead_letters": is_admin(request.user)}


def _show_secret_once(request, destination: Destination, secret: str) -> None:
    request.session[SECRET_KEY] = {"segment": destination.segment_id, "destination": destination.pk,
                                   "name": destination.name, "secret": secret}


def _back(segment: Segment):
    return redirect(reverse("segments:detail", args=[segment.pk]) + "#destinations")


def _objects(pk: int, destination_pk: int | None = None) -> tuple[Segment, Destination | None]:
    segment = get_object_or_404(Segment, pk=pk)
    if destination_pk is None:
        return segment, None
    return segment, get_object_or_404(Destination, pk=destination_pk, segment=segment)


def _form_page(request, segment, form, destination=None):
    return render(request, "segments/destinations/form.html", {
        "segment": segment, "form": form, "destination": destination,
        "is_webhook": isinstance(form, WebhookForm)}, status=400 if form.errors else 200)


@builder_required
def webhook_add(request, pk: int):
    segment, _ = _objects(pk)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            destination = destination_create(segment=segment, kind=Destination.Kind.WEBHOOK, by=request.user,
                                             **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            _show_secret_once(request, destination, destination.secret)
            messages.success(request, f"Webhook “{destination.name}” added.")
            return _back(segment)
    return _form_page(request, segment, form)


@builder_required
def action_add(request, pk: int):
    segment, _ = _objects(pk)
    form = ActionForm(request.POST or None, initial={"kind": request.GET.get("kind", Destination.Kind.TASK)})
    if request.method == "POST" and form.is_valid():
        try:
            destination = destination_create(segment=segment, kind=form.cleaned_data["kind"],
                                             name=form.cleaned_data["name"], config=form.config(), by=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Action “{destination.name}” added.")
            return _back(segment)
    return _form_page(request, segment, form)


@builder_required
def destination_edit(request, pk: int, destination_pk: int):
    segment, destination = _objects(pk, destination_pk)
    form_class = WebhookForm if destination.is_webhook else ActionForm
    form = form_class(request.POST or None, destination=destination)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if destination.is_webhook:
                destination_update(destination=destination, **data)
            else:
                destination_update(destination=destination, name=data["name"], enabled=data["enabled"],
                                   config=form.config())
        except ValidationError as exc:
            form.add_service_errors(exc)
            destination.refresh_from_db()
        else:
            messages.success(request, f"“{destination.name}” saved.")
            return _back(segment)
    return _form_page(request, segment, form, destination)


@builder_required
@require_POST
def destination_remove(request, pk: int, destination_pk: int):
    segment, destination = _objects(pk, destination_pk)
    destination_delete(destination=destination)
    messages.success(request, f"“{destination.name}” removed.")
    return _back(segment)


@builder_required
@require_POST
def destination_rotate(request, pk: int, destination_pk: int):
    segment, destination = _objects(pk, destination_pk)
    try:
        secret = destination_rotate_secret(destination=destination)
    except ValidationError:
        messages.error(request, "Only webhooks have a secret.")
    else:
        _show_secret_once(request, destination, secret)
        messages.success(request, f"New secret for “{destination.name}”; the old one still works until "
                                  f"{destination.previous_secret_until:%Y-%m-%d %H:%M} UTC.")
    return _back(segment)


class LogFilter(forms.Form):
    status = forms.ChoiceField(label="Status", choices=[("", "All"), *Delivery.Status.choices], required=False,
                               widget=forms.Select(attrs={"data-submit-on-change": ""}))


@builder_required
@require_GET
def destination_log(request, pk: int, destination_pk: int):
    """A webhook's deliveries (filtered by status) or a CRM action's runs, newest first, 50 a page."""
    segment, destination = _objects(pk, destination_pk)
    log_filter = LogFilter(request.GET or None)
    wanted = log_filter.cleaned_data["status"] if log_filter.is_valid() else ""
    rows = destination_deliveries(destination, status=wanted) if destination.is_webhook \
        else destination_runs(destination)
    page = Paginator(rows, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "segments/destinations/log.html", {
        "segment": segment, "destination": destination, "page": page, "filter": log_filter, "status": wanted,
        "stats": destination_stats(segment).get(destination.pk, {})})
