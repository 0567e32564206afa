"""API: merge actions. POST /api/crm/contacts/{id}/merge/ and /api/crm/companies/{id}/merge/ ({id} survives)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.common_sales import service_errors
from crm.api.companies import CompanySerializer
from crm.api.contacts import ContactSerializer
from crm.models import ContactEmail, ContactPhone
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import contacts_visible_to
from crm.services.merge import company_merge, contact_merge


class MergeRequestSerializer(serializers.Serializer):
    other = serializers.IntegerField(help_text="Id of the record merged into this one (deleted afterwards).")
    field_choices = serializers.DictField(
        child=serializers.ChoiceField(choices=["survivor", "other"]), required=False, default=dict,
        help_text='Per field (e.g. "first_name", "owner", "custom.tier"): keep the "survivor"\'s or the "other"\'s '
                  "value. Unnamed fields keep the survivor's value unless it is empty.")


class MergeResultSerializer(serializers.Serializer):
    merge_id = serializers.IntegerField()
    survivor = serializers.IntegerField()
    merged = serializers.IntegerField()
    moved = serializers.DictField(child=serializers.IntegerField(), help_text="Rows re-pointed per relation.")
    record = serializers.DictField(help_text="The survivor as the records endpoint returns it.")


class _MergeView(APIView):
    visible = staticmethod(contacts_visible_to)
    merge = staticmethod(contact_merge)
    noun = "contact"

    def record_data(self, request, pk: int) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request, pk: int):
        body = MergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        records = {r.pk: r for r in self.visible(request.user).filter(pk__in=[pk, body.validated_data["other"]])}
        if pk not in records:
            raise NotFound(f"No such {self.noun}.")
        other = records.get(body.validated_data["other"])
        if other is None:
            raise serializers.ValidationError({"other": [f"No such {self.noun}."]})
        with service_errors():
            try:
                record = self.merge(survivor=records[pk], other=other,
                                    field_choices=body.validated_data["field_choices"], actor=request.user)
            except DjangoPermissionDenied as exc:
                raise PermissionDenied(str(exc)) from exc
        return Response({"merge_id": record.pk, "survivor": pk, "merged": record.other_id, "moved": record.moved,
                         "record": self.record_data(request, pk)})


class ContactMergeView(_MergeView):
    @extend_schema(request=MergeRequestSerializer, responses=MergeResultSerializer, tags=["contacts"],
                   summary="Merge another contact into this one")
    def post(self, request, pk: int):
        return super().post(request, pk)

    def record_data(self, request, pk: int) -> dict:
        contact = (contacts_visible_to(request.user).select_related("company")
                   .prefetch_related(Prefetch("emails", queryset=ContactEmail.objects.order_by("-is_primary", "id")),
                                     Prefetch("phones", queryset=ContactPhone.objects.order_by("id"))).get(pk=pk))
        return ContactSerializer(contact, context={"request": request}).data


class CompanyMergeView(_MergeView):
    visible = staticmethod(companies_visible_to)
    merge = staticmethod(company_merge)
    noun = "company"

    @extend_schema(request=MergeRequestSerializer, responses=MergeResultSerializer, tags=["companies"],
                   summary="Merge another company into this one")
    def post(self, request, pk: int):
        return super().post(request, pk)

    def record_data(self, request, pk: int) -> dict:
        company = companies_visible_to(request.user).get(pk=pk)
        return CompanySerializer(company, context={"request": request}).data
