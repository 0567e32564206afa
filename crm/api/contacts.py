"""API: contacts. Reads use the visibility selectors; writes go through the contact services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.filters import UtcIsoDateTimeFilter
from crm.api.common_sales import FieldOrderingFilter, service_errors
from crm.models import Company, Contact, ContactEmail, ContactPhone, CustomFieldDefinition, LifecycleChange, Team
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import CONTACT_ORDERING_FIELDS, contacts_search, contacts_visible_to
from crm.selectors.custom_fields import custom_filter_q
from crm.services.contacts import contact_create, contact_delete, contact_update


class PhoneSerializer(serializers.ModelSerializer):
    number = serializers.CharField(max_length=40, help_text="Any format with country code; stored as E.164.")

    class Meta:
        model = ContactPhone
        fields = ["number", "kind"]


class EmailListField(serializers.ListField):
    """A list of email strings; reads the contact's (prefetched) ContactEmail rows."""

    def to_representation(self, data):
        return [item.email for item in data.all()] if hasattr(data, "all") else list(data)


class ContactSerializer(serializers.ModelSerializer):
    emails = EmailListField(child=serializers.CharField(max_length=254), required=False,
                                   help_text="All emails; the first is primary. Writing replaces the list.")
    phones = PhoneSerializer(many=True, required=False, help_text="Writing replaces the list.")
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.none(), required=False, allow_null=True)
    company_name = serializers.CharField(source="company.name", read_only=True, default=None, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True),
                                               required=False, allow_null=True,
                                               help_text="Admins and managers may assign; reps only themselves.")
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    custom = serializers.DictField(required=False, help_text="Custom field values by key (merged on update).")

    class Meta:
        model = Contact
        fields = ["id", "first_name", "last_name", "title", "email", "emails", "phone", "phones", "company",
                  "company_name", "owner", "team", "lifecycle_stage", "lead_source", "tags", "custom", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "email", "phone", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["company"].queryset = companies_visible_to(request.user)


class LifecycleChangeSerializer(serializers.ModelSerializer):
    # Plain strings: the stage values are the contact's lifecycle_stage enum ("" = no previous stage).
    from_stage = serializers.CharField(read_only=True)
    to_stage = serializers.CharField(read_only=True)

    class Meta:
        model = LifecycleChange
        fields = ["from_stage", "to_stage", "changed_at", "changed_by"]


class ContactFilter(filters.FilterSet):
    # ``search`` is applied with the ordering, by ContactSearchOrderingFilter.
    tag = filters.CharFilter(method="filter_tag", label="Has this tag")
    custom = filters.CharFilter(method="filter_custom",
                                label="Custom field filters: key:value, several separated by commas")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    updated_after = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = ["owner", "team", "company", "lifecycle_stage", "lead_source", "email"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])

    def filter_custom(self, queryset, name, value):
        return apply_custom_filter(queryset, "contact", value)


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


class ContactSearchOrderingFilter(FieldOrderingFilter):
    """``search`` and ``ordering`` in one step: how the matches of a search are best sorted depends on how many
    there are (``contacts_search``). Runs after the other filters, so that the search counts only what they keep."""

    def filter_queryset(self, request, queryset, view):
        return contacts_search(queryset, request.query_params.get("search", ""),
                               order=self.order(request, queryset, view))

    def get_schema_operation_parameters(self, view):
        search = {"name": "search", "required": False, "in": "query", "schema": {"type": "string"},
                  "description": "Search name, emails, phones and company name"}
        return [search, *super().get_schema_operation_parameters(view)]


class ContactViewSet(viewsets.ModelViewSet):
    """Contacts the caller may see. Writes are checked against the caller's edit rights (403 otherwise)."""

    serializer_class = ContactSerializer
    filter_backends = [filters.DjangoFilterBackend, ContactSearchOrderingFilter]
    filterset_class = ContactFilter
    ordering_fields = CONTACT_ORDERING_FIELDS
    ordering = ["last_name"]

    def get_queryset(self):
        return (
            contacts_visible_to(self.request.user)
            .select_related("company")
            .prefetch_related(
                Prefetch("emails", queryset=ContactEmail.objects.order_by("-is_primary", "id")),
                Prefetch("phones", queryset=ContactPhone.objects.order_by("id")),
            )
        )

    @staticmethod
    def _service_data(validated: dict) -> dict:
        data = dict(validated)
        if "phones" in data:
            data["phones"] = [(p["number"], p.get("kind") or ContactPhone.Kind.MOBILE) for p in data["phones"]]
        return data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            contact = contact_create(actor=request.user, **self._service_data(serializer.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=contact.pk)).data,
                        status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        contact = self.get_object()
        serializer = self.get_serializer(contact, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with service_errors():
            contact_update(contact=contact, actor=request.user, changes=self._service_data(serializer.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=contact.pk)).data)

    def destroy(self, request, *args, **kwargs):
        contact_delete(contact=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=LifecycleChangeSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="lifecycle-changes")
    def lifecycle_changes(self, request, pk=None):
        """Every lifecycle stage change of the contact, newest first."""
        changes = self.get_object().lifecycle_changes.order_by("-changed_at", "-id")
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(LifecycleChangeSerializer(page, many=True).data)
