"""API: contacts. Reads use the visibility selectors; writes go through the contact services."""

from __future__ import annotations

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action

from config.filters import UtcIsoDateTimeFilter
from crm.api.common_sales import FieldOrderingFilter
from crm.api.records import RecordFilter, RecordSerializer, RecordServices, RecordViewSet
from crm.extensions import attach_contact_scores
from crm.models import Company, Contact, ContactEmail, ContactPhone, LifecycleChange
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import CONTACT_ORDERING_FIELDS, contacts_search, contacts_visible_to
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


class _ContactListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        attach_contact_scores(items)  # one query for the page's lead scores
        return super().to_representation(items)


class ContactSerializer(RecordSerializer):
    emails = EmailListField(child=serializers.CharField(max_length=254), required=False,
                                   help_text="All emails; the first is primary. Writing replaces the list.")
    phones = PhoneSerializer(many=True, required=False, help_text="Writing replaces the list.")
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.none(), required=False, allow_null=True)
    company_name = serializers.CharField(source="company.name", read_only=True, default=None, allow_null=True)
    lead_score = serializers.SerializerMethodField(
        help_text="The score under the default score model with its why (null: no points, or no model).")

    class Meta:
        model = Contact
        list_serializer_class = _ContactListSerializer
        fields = ["id", "first_name", "last_name", "title", "email", "emails", "phone", "phones", "company",
                  "company_name", "owner", "team", "lifecycle_stage", "lead_source", "tags", "custom", "created_at",
                  "updated_at", "lead_score"]
        read_only_fields = ["id", "email", "phone", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["company"].queryset = companies_visible_to(request.user)

    @extend_schema_field(inline_serializer("LeadScore", {
        "value": serializers.DecimalField(max_digits=12, decimal_places=2), "model": serializers.CharField(),
        "why": inline_serializer("LeadScoreReason", {"label": serializers.CharField(),
                                                     "points": serializers.DecimalField(max_digits=12,
                                                                                        decimal_places=2)},
                                 many=True)}, allow_null=True))
    def get_lead_score(self, contact) -> dict | None:
        if not hasattr(contact, "lead_score"):
            attach_contact_scores([contact])
        score = contact.lead_score
        if score is None:
            return None
        return {"value": str(score.value), "model": score.model,
                "why": [{"label": label, "points": str(points)} for label, points in score.why]}


class LifecycleChangeSerializer(serializers.ModelSerializer):
    # Plain strings: the stage values are the contact's lifecycle_stage enum ("" = no previous stage).
    from_stage = serializers.CharField(read_only=True)
    to_stage = serializers.CharField(read_only=True)

    class Meta:
        model = LifecycleChange
        fields = ["from_stage", "to_stage", "changed_at", "changed_by"]


class ContactFilter(RecordFilter):
    # ``search`` is applied with the ordering, by ContactSearchOrderingFilter.
    object_type = "contact"
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    updated_after = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = ["owner", "team", "company", "lifecycle_stage", "lead_source", "email"]


class ContactSearchOrderingFilter(FieldOrderingFilter):
    """``search`` and ``ordering`` in one step: how the matches of a search are best sorted depends on how many
    there are (``contacts_search``). Runs after the other filters, so that the search counts only what they keep."""

    def filter_queryset(self, request, queryset, view):
        # A list is sorted; a single contact (``get_object`` filters too) only needs to match.
        order = self.order(request, queryset, view) if getattr(view, "action", "list") == "list" else None
        return contacts_search(queryset, request.query_params.get("search", ""), order=order)

    def get_schema_operation_parameters(self, view):
        search = {"name": "search", "required": False, "in": "query", "schema": {"type": "string"},
                  "description": "Search name, emails, phones and company name"}
        return [search, *super().get_schema_operation_parameters(view)]


class ContactViewSet(RecordViewSet):
    """Contacts the caller may see. Writes are checked against the caller's edit rights (403 otherwise)."""

    serializer_class = ContactSerializer
    filter_backends = [filters.DjangoFilterBackend, ContactSearchOrderingFilter]
    filterset_class = ContactFilter
    services = RecordServices("contact", contact_create, contact_update, contact_delete)
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

    def service_data(self, validated: dict) -> dict:
        data = dict(validated)
        if "phones" in data:
            data["phones"] = [(p["number"], p.get("kind") or ContactPhone.Kind.MOBILE) for p in data["phones"]]
        return data

    def presented(self, record):
        return self.get_queryset().get(pk=record.pk)  # with its emails and phones as the list shows them

    @extend_schema(responses=LifecycleChangeSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="lifecycle-changes")
    def lifecycle_changes(self, request, pk=None):
        """Every lifecycle stage change of the contact, newest first."""
        changes = self.get_object().lifecycle_changes.order_by("-changed_at", "-id")
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(LifecycleChangeSerializer(page, many=True).data)
