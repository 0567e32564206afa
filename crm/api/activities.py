"""API: activities (log/update/delete through the services, ``complete`` for tasks), scoped by visibility."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.common_sales import service_errors
from crm.models import Activity, Company, Contact, Deal
from crm.selectors.activities import activities_visible_to
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import contacts_visible_to
from crm.selectors.deals import deals_visible_to
from crm.services.activities import activity_delete, activity_log, activity_update, task_complete


class ActivitySerializer(serializers.ModelSerializer):
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.none(), required=False, allow_null=True)
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.none(), required=False, allow_null=True)
    deal = serializers.PrimaryKeyRelatedField(queryset=Deal.objects.none(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True),
                                                  required=False, allow_null=True)

    class Meta:
        model = Activity
        fields = ["id", "kind", "subject", "body", "occurred_at", "call_outcome", "call_duration_minutes",
                  "meeting_start", "meeting_end", "due_at", "done", "done_at", "assignee", "reminder_at", "contact",
                  "company", "deal", "owner", "team", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "done", "done_at", "owner", "team", "created_by", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            user = request.user
            self.fields["contact"].queryset = contacts_visible_to(user)
            self.fields["company"].queryset = companies_visible_to(user)
            self.fields["deal"].queryset = deals_visible_to(user)


class CompleteSerializer(serializers.Serializer):
    done = serializers.BooleanField(default=True)


class ActivityViewSet(viewsets.ModelViewSet):
    serializer_class = ActivitySerializer
    filterset_fields = ["kind", "contact", "company", "deal", "assignee", "done", "owner"]
    search_fields = ["subject", "body"]
    ordering_fields = ["occurred_at", "due_at", "created_at"]
    ordering = ["-occurred_at"]

    def get_queryset(self):
        return activities_visible_to(self.request.user).order_by("-occurred_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if v is not None}
        with service_errors():
            activity = activity_log(user=request.user, **data)
        return Response(self.get_serializer(activity).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        activity = self.get_object()
        serializer = self.get_serializer(activity, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        for fixed in ("kind", "contact", "company", "deal"):
            value = changes.pop(fixed, None)
            current = getattr(activity, fixed)
            if fixed in serializer.validated_data and value != current:
                raise serializers.ValidationError({fixed: "This cannot be changed; log a new activity instead."})
        with service_errors():
            activity = activity_update(user=request.user, activity=activity, changes=changes)
        return Response(self.get_serializer(activity).data)

    def destroy(self, request, *args, **kwargs):
        with service_errors():
            activity_delete(user=request.user, activity=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CompleteSerializer, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        body = CompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            activity = task_complete(user=request.user, activity=self.get_object(), done=body.validated_data["done"])
        return Response(self.get_serializer(activity).data)
