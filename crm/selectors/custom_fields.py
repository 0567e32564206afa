from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from crm.models import CustomFieldDefinition
from crm.services.custom_fields import custom_filter_value


def custom_field_definitions_for(object_type: str) -> QuerySet[CustomFieldDefinition]:
    return CustomFieldDefinition.objects.filter(object_type=object_type).order_by("order", "id")


def custom_filter_q(definitions: list[CustomFieldDefinition], filters: dict[str, str]) -> tuple[Q, dict[str, str]]:
    """Build a Q over ``custom`` for ``{key: raw value}``; returns (q, errors by key).

    Text matches case-insensitively as a substring; other types match exactly using JSON containment
    (``custom @> {...}``), which the GIN jsonb_path_ops index answers.
    """
    by_key = {d.key: d for d in definitions}
    q = Q()
    errors: dict[str, str] = {}
    for key, raw in filters.items():
        definition = by_key.get(key)
        if definition is None or raw in (None, ""):
            continue
        try:
            value = custom_filter_value(definition, raw)
        except ValidationError as exc:
            errors[key] = " ".join(exc.messages)
            continue
        if definition.field_type == CustomFieldDefinition.FieldType.TEXT:
            q &= Q(**{f"custom__{key}__icontains": value})
        else:
            q &= Q(custom__contains={key: value})
    return q, errors
