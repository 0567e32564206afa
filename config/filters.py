"""Filters shared by the API's filter sets."""

from __future__ import annotations

from datetime import UTC

from django.core.exceptions import ValidationError
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time in UTC. Python accepts UTC offsets up to 24 hours, Postgres only up to 15:59: the
    value is converted before it reaches a query (a 400 when the conversion leaves the calendar)."""

    def clean(self, value):
        value = super().clean(value)
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a date-time between the years 1 and 9999.", code="invalid") from None


class UtcIsoDateTimeFilter(IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
