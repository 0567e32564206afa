"""Validation of custom field values (contacts, companies, deals) against the admin's definitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from crm.models import CustomFieldDefinition

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def custom_field_definitions(*, object_type: str) -> list[CustomFieldDefinition]:
    """The definitions for one object type (contact, company, deal), in display order."""
    return list(CustomFieldDefinition.objects.filter(object_type=object_type).order_by("order", "id"))


def custom_value_coerce(definition: CustomFieldDefinition, raw: Any) -> Any:
    """Convert one raw value (form text, CSV cell or JSON value) into its stored JSON form.

    Returns None for an empty value. Raises ``ValidationError`` with a message a person can act on.
    Stored forms: text → str, number → int or float, date → "YYYY-MM-DD", choice → one of the choices, boolean → bool.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    kind = definition.field_type
    types = CustomFieldDefinition.FieldType
    if kind == types.TEXT:
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise ValidationError("Enter text.")
        return str(raw).strip()
    if kind == types.NUMBER:
        if isinstance(raw, bool):
            raise ValidationError("Enter a number.")
        try:
            number = Decimal(str(raw).strip().replace(",", "")) if isinstance(raw, str) else Decimal(str(raw))
        except InvalidOperation:
            raise ValidationError(f"“{raw}” is not a number.") from None
        if not number.is_finite():
            raise ValidationError("Enter a finite number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == types.DATE:
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValidationError(f"“{raw}” is not a date; use YYYY-MM-DD.") from None
    if kind == types.CHOICE:
        value = str(raw).strip()
        for choice in definition.choices:
            if choice.lower() == value.lower():
                return choice
        raise ValidationError(f"“{value}” is not one of: {', '.join(definition.choices)}.")
    if kind == types.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError(f"“{raw}” is not yes or no.")
    raise ValidationError(f"Unknown field type {kind}.")  # pragma: no cover - guarded by model choices


def custom_values_clean(
    *,
    object_type: str,
    values: dict[str, Any] | None,
    existing: dict[str, Any] | None = None,
    definitions: list[CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """Validate ``values`` (merged over ``existing``, for partial updates) and return the dict to store.

    Unknown keys, wrong types, choices outside the list and missing required fields raise one
    ``ValidationError`` whose ``message_dict`` is keyed by field key. Empty values remove the key.
    Keys in ``existing`` whose definition was deleted are kept as they are (an admin may restore the field).
    """
    if definitions is None:
        definitions = custom_field_definitions(object_type=object_type)
    by_key = {d.key: d for d in definitions}
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    if values is not None and not isinstance(values, dict):
        raise ValidationError({"custom": ["Custom fields must be an object of key → value."]})
    for key, raw in (values or {}).items():
        definition = by_key.get(key)
        if definition is None:
            errors[key] = [f"There is no custom field “{key}” for {object_type}s."]
            continue
        try:
            value = custom_value_coerce(definition, raw)
        except ValidationError as exc:
            errors[key] = exc.messages
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    for definition in definitions:
        if definition.required and definition.key not in result and definition.key not in errors:
            errors[definition.key] = [f"{definition.label} is required."]
    if errors:
        raise ValidationError(errors)
    return result


def custom_filter_value(definition: CustomFieldDefinition, raw: str) -> Any:
    """Coerce a list-filter value; raises ``ValidationError`` for a value of the wrong type."""
    return custom_value_coerce(definition, raw)
