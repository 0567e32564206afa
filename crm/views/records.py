"""What the contact and company pages share: one inline editor, one edit page, one timeline and delete view,
driven by a ``RecordKind`` that names each type's selectors, services, fields and templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from crm.extensions import timeline_for
from crm.forms.custom_fields import errors_to_form
from crm.selectors.assignment import can_create_records, owner_filter_choices
from crm.selectors.custom_fields import custom_field_definitions_for
from crm.selectors.record_lists import saved_views_of
from crm.views.list_support import (
    inline_changes,
    inline_saved_response,
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


def record_list_page(request, kind: RecordKind, *, form, params, page, filter_errors: dict, definitions: list,
                     sort_columns: list[str], **extra):
    """The list page (or, for an htmx request aimed at the results, the results alone) with what every record
    list shows: filters, sort links, owners to filter by, saved views."""
    context = {
        "form": form, "page": page, "params": params, "filter_errors": filter_errors, "definitions": definitions,
        "sort_links": sort_links(request.GET, sort_columns, params.sort), "query": query_without(request.GET, "page"),
        "owners": owner_filter_choices(request.user), "can_create": can_create_records(request.user),
        "saved_views": saved_views_of(request.user, object_type=kind.noun), "kind": kind, **extra,
    }
    if request.htmx and request.htmx.target == f"{kind.noun}-results":
        return render(request, kind.results_template, context)
    return render(request, f"crm/{kind.plural}/list.html", context)


def record_require_create(request, kind: RecordKind) -> None:
    if not can_create_records(request.user):
        raise PermissionDenied(f"You may not create {kind.plural}.")


def record_new(request, kind: RecordKind, *, form, create: Callable[[Any], Any]):
    """The new-record page: ``create(form)`` calls the kind's create service once the form is valid."""
    if request.method == "POST" and form.is_valid():
        try:
            record = create(form)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, f"Created {record}.")
            return redirect(kind.detail_url, pk=record.pk)
    return record_form_page(request, kind, form=form)


def record_form_page(request, kind: RecordKind, *, form, record=None):
    return render(request, "crm/records/form.html", {"form": form, "record": record, "kind": kind})


def record_edit(request, kind: RecordKind, pk: int, *, form_for: Callable[..., Any],
                changes_from: Callable[[Any], dict]):
    """The edit page: the form ``form_for(data, record=)``, saved through the kind's update service."""
    record = record_get(kind, request.user, pk)
    if not kind.is_editable_by(request.user, record):
        raise PermissionDenied(f"You may not edit this {kind.noun}.")
    form = form_for(request.POST or None, record=record)
    if request.method == "POST" and form.is_valid():
        try:
            kind.update(record=record, actor=request.user, changes=changes_from(form))
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
