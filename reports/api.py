"""Each report as JSON at /api/reports/<report>/, with the page's filters (documented in the OpenAPI schema)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.catalog import REPORTS
from reports.filters import ReportFilterForm


class ReportFiltersSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day of the period (default: 6 months back).")
    end = serializers.DateField(required=False, help_text="Last day of the period, inclusive (default: today).")
    pipeline = serializers.IntegerField(required=False, help_text="Pipeline id.")
    owner = serializers.IntegerField(required=False, help_text="Owner (user) id.")
    team = serializers.IntegerField(required=False, help_text="Team id: records of the team or its members.")
    currency = serializers.CharField(required=False, help_text="ISO currency; amounts are never converted.")


REPORT_RESPONSE = inline_serializer("ReportResponse", {
    "report": serializers.CharField(),
    "filters": serializers.DictField(child=serializers.CharField()),
    "sections": serializers.DictField(child=inline_serializer("ReportSection", {
        "title": serializers.CharField(),
        "columns": serializers.ListField(child=serializers.CharField()),
        "rows": serializers.ListField(child=serializers.DictField()),
    })),
})


class ReportAPIView(APIView):
    """A report's tables as rows of numbers, scoped to what the caller may see."""

    report_slug = ""

    @extend_schema(parameters=[ReportFiltersSerializer], responses=REPORT_RESPONSE, tags=["reports"])
    def get(self, request, *args, **kwargs):
        report = REPORTS.get(self.report_slug)
        if report is None:
            raise NotFound("No such report.")
        if not report.can_view(request.user):
            raise PermissionDenied("This report is not part of your role.")
        form = ReportFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        filters = form.filters()
        sections = report.build(request.user, filters)
        return Response({
            "report": report.slug,
            "filters": filters.as_query(),
            "sections": {s.key: {"title": s.title, "columns": [str(c) for c in s.frame.columns],
                                 "rows": s.records()} for s in sections},
        })


def report_api_view(slug: str):
    view = type(f"{slug.title()}ReportAPIView", (ReportAPIView,), {"report_slug": slug,
                                                                     "__doc__": f"The {slug} report as JSON."})
    return view.as_view()
