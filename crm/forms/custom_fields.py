"""Form fields for admin-defined custom fields (``cf_<key>``), and putting service errors on forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from crm.models import CustomFieldDefinition

PREFIX = "cf_"


def custom_form_field(definition: CustomFieldDefinition, *, for_filter: bool = False) -> forms.Field:
    kind = definition.field_type
    types = CustomFieldDefinition.FieldType
    common: dict[str, Any] = {"label": definition.label, "required": False, "help_text": definition.help_text}
    if kind == types.NUMBER:
        return forms.DecimalField(**common)
    if kind == types.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == types.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in definition.choices], **common)
    if kind == types.BOOLEAN:
        if for_filter:
            return forms.ChoiceField(choices=[("", "—"), ("true", "Yes"), ("false", "No")], **common)
        return forms.NullBooleanField(widget=forms.NullBooleanSelect, **common)
    return forms.CharField(max_length=500, **common)


def add_custom_fields(form: forms.Form, definitions: list[CustomFieldDefinition], *,
                      initial: dict[str, Any] | None = None, for_filter: bool = False) -> None:
    """Add one ``cf_<key>`` field per definition; required-ness is enforced by the service, with its message."""
    for definition in definitions:
        field = custom_form_field(definition, for_filter=for_filter)
        if definition.required and not for_filter:
            field.label = f"{definition.label} *"
        form.fields[PREFIX + definition.key] = field
        if initial and definition.key in initial:
            form.initial[PREFIX + definition.key] = initial[definition.key]


def custom_values_from(cleaned_data: dict[str, Any], definitions: list[CustomFieldDefinition]) -> dict[str, Any]:
    """{key: value} for the service (None clears a value)."""
    values: dict[str, Any] = {}
    for definition in definitions:
        name = PREFIX + definition.key
        if name in cleaned_data:
            value = cleaned_data[name]
            values[definition.key] = None if value in ("", None) else value
    return values


def errors_to_form(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on ``form``: ``custom.<key>`` → ``cf_<key>``; unknown keys → form errors."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for name, messages in exc.message_dict.items():
        target = PREFIX + name.removeprefix("custom.") if name.startswith("custom.") else name
        if target not in form.fields:
            alias = {"emails": "emails", "phones": "phones"}.get(name)
            target = alias if alias in form.fields else None
        for message in messages:
            form.add_error(target, message)
