"""What the contact and company pages share: one inline editor, one edit page, one timeline and delete view,
driven by a ``RecordKind`` that names each type's selectors, services, fields and templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from config.csv_export import csv_stream_response
from crm.extensions import timeline_for
from crm.forms.custom_fields import errors_to_form
from crm.selectors.assignment import can_create_records, owner_filter_choices
from crm.selectors.custom_fields import custom_field_definitions_for
from crm.selectors.record_lists import saved_views_of
from crm.views.list_support import (
    inline_changes,
    inline_saved_response,
    page_of,
    query_without,
    sort_links,
    validation_text,
)

# (value, label) pairs of a select, and the selected value; None: the field is edited as text.
Options = tuple[list[tuple[Any, str]], Any] | None


@dataclass(frozen=True)
class RecordKind:
    """One record type's pages. ``detail(user=, pk=)`` raises ``DoesNotExist`` for what the user may not see;
    ``update(record=, actor=, changes=)`` and ``delete(record=, actor=)`` are its services."""

    noun: str  # "contact"
    plural: str  # "contacts"
    other_noun: str  # the sibling type, whose list the list page links to
    other_plural: str
    detail: Callable[..., Any]
    is_editable_by: Callable[[Any, Any], bool]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    inline_fields: dict[str, str]  # field → label, editable in place
    search_placeholder: str = ""
    wide_fields: frozenset[str] = frozenset()
    delete_confirm: str = ""
    # Select options of an inline field for this user and record (None: a text input).
    inline_options: Callable[[Any, Any, str], Options] = lambda user, record, field: None
    # The update service's ``changes`` for a posted inline value (may raise ValidationError).
    inline_value: Callable[[str, str], dict] | None = None
    templates: dict[str, str] = field(default_factory=dict)
    # The list: its filter form (``list_form(data, definitions=)``), the params it gives for a request
    # (``list_params(form, request)``) and the visibility-scoped selector (``list_query(user=, params=,
    # definitions=)`` → (queryset, filter errors)).
    list_form: Callable[..., Any] | None = None
    list_params: Callable[[Any, Any], Any] | None = None
    list_query: Callable[..., tuple[Any, dict]] | None = None
    # The record form (``form(data, user=, definitions=, initial=, <noun>=record)``), the service arguments a
    # valid form gives (``service_kwargs(form, definitions)``) and the create service (``create(actor=, **kwargs)``).
    form: Callable[..., Any] | None = None
    service_kwargs: Callable[[Any, list], dict] | None = None
    create: Callable[..., Any] | None = None
    # CSV export: the columns after ``id`` and before the custom fields and timestamps, and their values.
    export_columns: tuple[str, ...] = ()
    export_values: Callable[[Any], list] | None = None
    # The new-record form's initial values beyond the owner, from the GET request.
    new_initial: Callable[[Any], dict] = lambda request: {}

    @property
    def list_url(self) -> str:
        return f"{self.noun}-list"

    @property
    def other_list_url(self) -> str:
        return f"{self.other_noun}-list"

    @property
    def new_url(self) -> str:
        return f"{self.noun}-new"

    @property
    def detail_url(self) -> str:
        return f"{self.noun}-detail"

    @property
    def edit_url(self) -> str:
        return f"{self.noun}-edit"

    @property
    def delete_url(self) -> str:
        return f"{self.noun}-delete"

    @property
    def inline_url(self) -> str:
        return f"{self.noun}-inline"

    @property
    def timeline_url(self) -> str:
        return f"{self.noun}-timeline"

    @property
    def export_url(self) -> str:
        return f"{self.noun}-export"

    @property
    def results_id(self) -> str:
        """The id of the element that holds the list's results (the htmx target of sorting and paging)."""
        return f"{self.noun}-results"

    @property
    def values_template(self) -> str:
        return f"crm/{self.plural}/_values.html"

    @property
    def results_template(self) -> str:
        return f"crm/{self.plural}/_results.html"


def record_get(kind: RecordKind, user, pk: int):
    """The record ``pk`` as ``user`` may see it, or 404."""
    try:
        return kind.detail(user=user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404(f"No such {kind.noun}.") from None


def record_definitions(kind: RecordKind) -> list:
    return list(custom_field_definitions_for(kind.noun))


def record_inline(request, kind: RecordKind, pk: int, field: str):
    """htmx inline edit of one field on the detail page: GET → the field's form, POST → save, row back."""
    record = record_get(kind, request.user, pk)
    custom_key = field.removeprefix("cf_") if field.startswith("cf_") else None
    definition = next((d for d in record_definitions(kind) if d.key == custom_key), None)
    if field not in kind.inline_fields and definition is None:
        raise Http404("No such field.")
    if not kind.is_editable_by(request.user, record):
        raise PermissionDenied(f"You may not edit this {kind.noun}.")
    context = {"record": record, "kind": kind, "field": field, "definition": definition, "error": ""}
    if request.method == "GET" and request.GET.get("cancel") is None:
        return render(request, "crm/records/_inline_form.html", _inline_form_context(request, kind, context))
    if request.method == "POST":
        value = request.POST.get("value", "")
        try:
            changes = (kind.inline_value(field, value) if kind.inline_value and definition is None else None) \
                or inline_changes(field=field, value=value, definition=definition)
            kind.update(record=record, actor=request.user, changes=changes)
        except ValidationError as exc:
            context.update(error=validation_text(exc), value=value)
            return render(request, "crm/records/_inline_form.html", _inline_form_context(request, kind, context))
        context["record"] = record = record_get(kind, request.user, pk)
    context["custom_value"] = record.custom.get(custom_key) if custom_key else None
    return inline_saved_response(request, "crm/records/_field.html", context)


def _inline_form_context(request, kind: RecordKind, context: dict) -> dict:
    record, field, definition = context["record"], context["field"], context["definition"]
    options = None if definition else kind.inline_options(request.user, record, field)
    if definition is not None:
        current = record.custom.get(definition.key, "")
        label = definition.label
    else:
        current = ", ".join(record.tags) if field == "tags" else getattr(record, field, "")
        label = kind.inline_fields[field]
    return {**context, "label": label, "current": current, "options": options[0] if options else None,
            "selected": options[1] if options else None}


def record_list_page(request, kind: RecordKind, *, sort_columns: list[str],
                     extra: Callable[[Any], dict] = lambda page: {}):
    """The list page (or, for an htmx request aimed at the results, the results alone) with what every record
    list shows: filters, sort links, owners to filter by, saved views; ``extra(page)`` adds the kind's own."""
    definitions = record_definitions(kind)
    form, params, qs, filter_errors = record_list_query(request, kind, definitions)
    page = page_of(qs, request)
    context = {
        "form": form, "page": page, "params": params, "filter_errors": filter_errors, "definitions": definitions,
        "sort_links": sort_links(request.GET, sort_columns, params.sort), "query": query_without(request.GET, "page"),
        "owners": owner_filter_choices(request.user), "can_create": can_create_records(request.user),
        "saved_views": saved_views_of(request.user, object_type=kind.noun), "kind": kind, **extra(page),
    }
    if request.htmx and request.htmx.target == kind.results_id:
        return render(request, kind.results_template, context)
    return render(request, f"crm/{kind.plural}/list.html", context)


def record_require_create(request, kind: RecordKind) -> None:
    if not can_create_records(request.user):
        raise PermissionDenied(f"You may not create {kind.plural}.")


def record_list_query(request, kind: RecordKind, definitions: list):
    """(filter form, params, visible queryset, filter errors) of the list as ``request`` asks for it."""
    form = kind.list_form(request.GET, definitions=definitions)
    params = kind.list_params(form, request)
    qs, filter_errors = kind.list_query(user=request.user, params=params, definitions=definitions)
    return form, params, qs, filter_errors


def record_export(request, kind: RecordKind):
    """Stream the current filtered list as CSV (visibility applies: it is the list's selector)."""
    definitions = record_definitions(kind)
    _form, _params, qs, _errors = record_list_query(request, kind, definitions)
    header = ["id", *kind.export_columns, *[f"custom.{d.key}" for d in definitions], "created_at", "updated_at"]

    def rows():
        for record in qs.iterator(chunk_size=2000):
            yield [record.pk, *kind.export_values(record), *[record.custom.get(d.key, "") for d in definitions],
                   record.created_at.isoformat(), record.updated_at.isoformat()]

    return csv_stream_response(f"{kind.plural}.csv", header, rows())


def record_new(request, kind: RecordKind):
    """The new-record page: the kind's form (on GET the user as owner and the kind's ``new_initial``), created
    through the kind's create service once valid."""
    record_require_create(request, kind)
    definitions = record_definitions(kind)
    start = {"owner": request.user.pk, **kind.new_initial(request)} if request.method == "GET" else {}
    form = kind.form(request.POST or None, user=request.user, definitions=definitions, initial=start)
    if request.method == "POST" and form.is_valid():
        try:
            record = kind.create(actor=request.user, **kind.service_kwargs(form, definitions))
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, f"Created {record}.")
            return redirect(kind.detail_url, pk=record.pk)
    return record_form_page(request, kind, form=form)


def record_form_page(request, kind: RecordKind, *, form, record=None):
    return render(request, "crm/records/form.html", {"form": form, "record": record, "kind": kind})


def record_edit(request, kind: RecordKind, pk: int):
    """The edit page: the kind's form for the record, saved through the kind's update service."""
    record = record_get(kind, request.user, pk)
    if not kind.is_editable_by(request.user, record):
        raise PermissionDenied(f"You may not edit this {kind.noun}.")
    definitions = record_definitions(kind)
    form = kind.form(request.POST or None, user=request.user, definitions=definitions, **{kind.noun: record})
    if request.method == "POST" and form.is_valid():
        try:
            kind.update(record=record, actor=request.user, changes=kind.service_kwargs(form, definitions))
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect(kind.detail_url, pk=record.pk)
    return record_form_page(request, kind, form=form, record=record)


def record_timeline(request, kind: RecordKind, pk: int):
    record = record_get(kind, request.user, pk)
    return render(request, "crm/records/_timeline.html", {"timeline": timeline_for(record, user=request.user),
                                                          "timeline_url": reverse(kind.timeline_url, args=[pk])})


def record_remove(request, kind: RecordKind, pk: int):
    record = record_get(kind, request.user, pk)
    kind.delete(record=record, actor=request.user)
    messages.success(request, f"Deleted {record}.")
    return redirect(kind.list_url)


def record_urlpatterns(kind: RecordKind, *, list_view, detail_view) -> list:
    """The kind's pages under ``<plural>/``: its own list and detail views, and the shared new, export, edit,
    delete, timeline and inline-edit views."""
    def new(request):
        return record_new(request, kind)

    def export(request):
        return record_export(request, kind)

    def edit(request, pk: int):
        return record_edit(request, kind, pk)

    def remove(request, pk: int):
        return record_remove(request, kind, pk)

    def timeline(request, pk: int):
        return record_timeline(request, kind, pk)

    def inline(request, pk: int, field: str):
        return record_inline(request, kind, pk, field)

    get_post = require_http_methods(["GET", "POST"])
    base = kind.plural
    return [
        path(f"{base}/", list_view, name=kind.list_url),
        path(f"{base}/new/", login_required(get_post(new)), name=kind.new_url),
        path(f"{base}/export.csv", login_required(export), name=kind.export_url),
        path(f"{base}/<int:pk>/", detail_view, name=kind.detail_url),
        path(f"{base}/<int:pk>/edit/", login_required(get_post(edit)), name=kind.edit_url),
        path(f"{base}/<int:pk>/delete/", login_required(require_POST(remove)), name=kind.delete_url),
        path(f"{base}/<int:pk>/timeline/", login_required(timeline), name=kind.timeline_url),
        path(f"{base}/<int:pk>/inline/<str:field>/", login_required(get_post(inline)), name=kind.inline_url),
    ]
