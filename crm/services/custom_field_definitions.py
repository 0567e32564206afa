"""Writes of custom field definitions (admins): the API and any page save them through here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.models import CustomFieldDefinition


def custom_field_definition_save(
    *, definition: CustomFieldDefinition | None = None, values: Mapping[str, Any]
) -> CustomFieldDefinition:
    """Create a definition (``definition`` None) or change ``definition`` with ``values`` (already shaped).

    Raises ``ValidationError`` keyed by field: a choice field without choices, a key already used for the
    object type.
    """
    definition = definition or CustomFieldDefinition()
    for name, value in values.items():
        setattr(definition, name, value)
    if definition.field_type == CustomFieldDefinition.FieldType.CHOICE and not definition.choices:
        raise ValidationError({"choices": ["A choice field needs at least one choice."]})
    try:
        with transaction.atomic():
            definition.save()
    except IntegrityError:
        raise ValidationError({"key": ["This key is already used for this object type."]}) from None
    return definition
