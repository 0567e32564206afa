"""What the contact and company APIs share: the owner/team/tags/custom fields, tag and custom-field filters, and
a viewset whose writes go through the record type's services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django_filters import rest_framework as filters
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from crm.api.common_sales import FieldOrderingFilter, service_errors
from crm.models import CustomFieldDefinition, Team
from crm.selectors.custom_fields import custom_filter_q


# The fields contacts and companies write alike: owner, team, tags and custom field values. (A comment, not a
# docstring: the schema would show a docstring as the description of both record types.)
class RecordSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True),
                                               required=False, allow_null=True,
                                               help_text="Admins and managers may assign; reps only themselves.")
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    custom = serializers.DictField(required=False, help_text="Custom field values by key (merged on update).")


def apply_custom_filter(queryset, object_type: str, value: str):
    """``key:value,key2:value2`` → custom field filters; a bad value is a 400 naming the key."""
    pairs = {}
    for part in value.split(","):
        key, sep, raw = part.partition(":")
        if not sep or not key.strip():
            raise serializers.ValidationError({"custom": [f"“{part}” is not key:value."]})
        pairs[key.strip()] = raw.strip()
    definitions = list(CustomFieldDefinition.objects.filter(object_type=object_type))
    unknown = set(pairs) - {d.key for d in definitions}
    if unknown:
        raise serializers.ValidationError({"custom": [f"Unknown custom field: {', '.join(sorted(unknown))}."]})
    q, errors = custom_filter_q(definitions, pairs)
    if errors:
        raise serializers.ValidationError({"custom": [f"{k}: {v}" for k, v in errors.items()]})
    return queryset.filter(q)


class RecordFilter(filters.FilterSet):
    """``tag`` and ``custom`` filters of a record type (``object_type``: its custom fields' type)."""

    object_type = ""
    tag = filters.CharFilter(method="filter_tag", label="Has this tag")
    custom = filters.CharFilter(method="filter_custom",
                                label="Custom field filters: key:value, several separated by commas")

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])

    def filter_custom(self, queryset, name, value):
        return apply_custom_filter(queryset, self.object_type, value)


class RecordServices(NamedTuple):
    """A record type's services: ``create(actor=, **data)``, ``update(<noun>=, actor=, changes=)``,
    ``delete(<noun>=, actor=)``."""

    noun: str
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]


class RecordViewSet(viewsets.ModelViewSet):
    """Records the caller may see (``get_queryset``); creates, updates and deletes through the record type's
    services, which check the caller's rights (403 otherwise) and validate (400)."""

    services: RecordServices
    filter_backends = [filters.DjangoFilterBackend, FieldOrderingFilter]

    def service_data(self, validated: dict) -> dict:
        """The service's arguments from the serializer's validated data."""
        return validated

    def presented(self, record):
        """The record as the response shows it (after a write)."""
        return record

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            record = self.services.create(actor=request.user, **self.service_data(serializer.validated_data))
        return Response(self.get_serializer(self.presented(record)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        record = self.get_object()
        serializer = self.get_serializer(record, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with service_errors():
            record = self.services.update(**{self.services.noun: record}, actor=request.user,
                                            changes=self.service_data(serializer.validated_data))
        return Response(self.get_serializer(self.presented(record)).data)

    def destroy(self, request, *args, **kwargs):
        self.services.delete(**{self.services.noun: self.get_object()}, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
