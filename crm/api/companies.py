"""API: companies, custom field definitions (admins write) and the caller's saved views."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from crm.api.common_sales import AdminWritesOnly, service_errors
from crm.api.records import RecordFilter, RecordSerializer, RecordServices, RecordViewSet
from crm.models import Company, CustomFieldDefinition, SavedView
from crm.selectors.companies import COMPANY_ORDERING_FIELDS, companies_search, companies_visible_to
from crm.services.companies import company_create, company_delete, company_update
from crm.services.custom_field_definitions import custom_field_definition_save
from crm.services.saved_views import saved_view_delete, saved_view_save, saved_view_update


class CompanySerializer(RecordSerializer):
    domain = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                   help_text="Normalized: scheme, www. and path are dropped; unique when set.")

    class Meta:
        model = Company
        fields = ["id", "name", "domain", "industry", "size", "street", "city", "region", "postal_code", "country",
                  "owner", "team", "tags", "custom", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"country": {"max_length": 10}}


class CompanyFilter(RecordFilter):
    object_type = "company"
    search = filters.CharFilter(method="filter_search", label="Search name and domain")
    industry = filters.CharFilter(field_name="industry", lookup_expr="iexact")

    class Meta:
        model = Company
        fields = ["owner", "team", "size", "domain", "country"]

    def filter_search(self, queryset, name, value):
        return companies_search(queryset, value)


class CompanyViewSet(RecordViewSet):
    """Companies the caller may see. Writes are checked against the caller's edit rights (403 otherwise)."""

    serializer_class = CompanySerializer
    filterset_class = CompanyFilter
    services = RecordServices("company", company_create, company_update, company_delete)
    ordering_fields = COMPANY_ORDERING_FIELDS
    ordering = ["name"]

    def get_queryset(self):
        return companies_visible_to(self.request.user)


class CustomFieldDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomFieldDefinition
        fields = ["id", "object_type", "key", "label", "field_type", "choices", "required", "order", "help_text"]


class CustomFieldDefinitionViewSet(viewsets.ModelViewSet):
    """Custom field definitions: everyone signed in reads them; admins create and change them."""

    serializer_class = CustomFieldDefinitionSerializer
    permission_classes = [AdminWritesOnly]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = ["object_type", "field_type"]
    queryset = CustomFieldDefinition.objects.order_by("object_type", "order", "id")

    def perform_create(self, serializer):
        with service_errors():
            serializer.instance = custom_field_definition_save(values=serializer.validated_data)

    def perform_update(self, serializer):
        with service_errors():
            serializer.instance = custom_field_definition_save(definition=serializer.instance,
                                                               values=serializer.validated_data)


class SavedViewSerializer(serializers.ModelSerializer):
    class Meta:
        model = SavedView
        fields = ["id", "object_type", "name", "query_string", "created_at"]
        read_only_fields = ["id", "created_at"]


class SavedViewViewSet(viewsets.ModelViewSet):
    """The caller's own saved list views."""

    serializer_class = SavedViewSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_fields = ["object_type"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SavedView.objects.none()
        return SavedView.objects.filter(user=self.request.user).order_by("object_type", "name", "id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            view = saved_view_save(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(view).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        with service_errors():
            serializer.instance = saved_view_update(saved_view=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        saved_view_delete(saved_view=instance)
