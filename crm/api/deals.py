"""API: deals (CRUD through the services, ``move``/``won``/``lost`` actions), scoped by deals_visible_to."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.common_sales import service_errors
from crm.models import Company, Contact, Deal, Pipeline, Stage, Team
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import contacts_visible_to
from crm.selectors.deals import deals_visible_to
from crm.services.deals import deal_create, deal_delete, deal_mark_lost, deal_mark_won, deal_move_to_stage, deal_update


class DealSerializer(serializers.ModelSerializer):
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all())
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True),
                                               required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.none(), required=False, allow_null=True)
    contacts = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.none(), many=True, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217 code (any case).")
    weighted_amount = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)

    class Meta:
        model = Deal
        fields = ["id", "name", "amount", "currency", "pipeline", "stage", "stage_name", "status", "probability",
                  "probability_overridden", "weighted_amount", "expected_close_date", "owner", "team", "company",
                  "contacts", "lost_reason", "closed_at", "custom", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "probability_overridden", "closed_at", "created_by", "created_at",
                            "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["company"].queryset = companies_visible_to(request.user)
            self.fields["contacts"].child_relation.queryset = contacts_visible_to(request.user)


    def validate_currency(self, value: str) -> str:
        return value.strip().upper()


class MoveSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    lost_reason = serializers.CharField(required=False, allow_blank=True, default="")


class LostSerializer(serializers.Serializer):
    lost_reason = serializers.CharField()


class DealFilter(django_filters.FilterSet):
    close_from = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    close_to = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    min_amount = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")

    class Meta:
        model = Deal
        fields = ["pipeline", "stage", "status", "owner", "team", "company", "currency", "contacts"]


class DealViewSet(viewsets.ModelViewSet):
    serializer_class = DealSerializer
    filterset_class = DealFilter
    search_fields = ["name", "company__name"]
    ordering_fields = ["name", "amount", "expected_close_date", "created_at", "updated_at", "probability"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return (deals_visible_to(self.request.user).select_related("stage")
                .prefetch_related(Prefetch("contacts", queryset=Contact.objects.only("id"))).order_by("-created_at"))

    def _out(self, deal: Deal, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=deal.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors():
            deal = deal_create(
                user=request.user, name=data["name"], pipeline=data["pipeline"], stage=data.get("stage"),
                amount=data.get("amount", 0), currency=data.get("currency", "EUR"),
                probability=data.get("probability"), expected_close_date=data.get("expected_close_date"),
                owner=data.get("owner"), team=data.get("team"), company=data.get("company"),
                contacts=data.get("contacts", []), custom=data.get("custom"), lost_reason=data.get("lost_reason", ""),
            )
        return self._out(deal, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        deal = self.get_object()
        serializer = self.get_serializer(deal, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with service_errors():
            deal = deal_update(user=request.user, deal=deal, changes=dict(serializer.validated_data))
        return self._out(deal)

    def destroy(self, request, *args, **kwargs):
        with service_errors():
            deal_delete(user=request.user, deal=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=MoveSerializer, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the deal to another stage of its pipeline (a lost stage needs ``lost_reason``)."""
        deal = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            deal = deal_move_to_stage(user=request.user, deal=deal, stage=body.validated_data["stage"],
                                      lost_reason=body.validated_data["lost_reason"])
        return self._out(deal)

    @extend_schema(request=None, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def won(self, request, pk=None):
        with service_errors():
            deal = deal_mark_won(user=request.user, deal=self.get_object())
        return self._out(deal)

    @extend_schema(request=LostSerializer, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def lost(self, request, pk=None):
        deal = self.get_object()
        body = LostSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            deal = deal_mark_lost(user=request.user, deal=deal, reason=body.validated_data["lost_reason"])
        return self._out(deal)


