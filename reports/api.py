"""Each report as JSON at /api/reports/<report>/, with the page's filters (documented in the OpenAPI schema)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.catalog import REPORTS, Report

PARAMETERS = {
    "start": (OpenApiTypes.DATE, "First day of the period (default: the first day of the month 5 months back)."),
    "end": (OpenApiTypes.DATE, "Last day of the period, inclusive (default: today)."),
    "pipeline": (OpenApiTypes.INT, "Pipeline id."),
    "owner": (OpenApiTypes.INT, "Owner (user) id."),
    "team": (OpenApiTypes.INT, "Team id: records of the team or of its members."),
    "currency": (OpenApiTypes.STR, "ISO 4217 code (default EUR); amounts are never converted."),
    "window": (OpenApiTypes.INT, "Conversion window, in window_unit (default 1)."),
    "window_unit": (OpenApiTypes.STR, "minutes, hours or days (default days)."),
    "breakdown": (OpenApiTypes.STR, "Property of the step-1 event to break the funnel down by."),
}
for _i in range(1, 6):
    PARAMETERS[f"step_{_i}"] = (OpenApiTypes.STR, f"Event name of step {_i} (steps 1 and 2 required).")

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

    report: Report

    def get(self, request, *args, **kwargs):
        report = self.report
        if not report.can_view(request.user):
            raise PermissionDenied("This report is not part of your role.")
        form = report.form(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        sections = report.build(request.user, form)
        return Response({
            "report": report.slug,
            "filters": report.query(form),
            "sections": {s.key: {"title": s.title, "columns": [str(c) for c in s.frame.columns],
                                 "rows": s.records()} for s in sections},
        })


def report_api_view(slug: str):
    report = REPORTS[slug]
    parameters = [OpenApiParameter(name, PARAMETERS[name][0], description=PARAMETERS[name][1])
                  for name in report.filters]
    def get(self, request, *args, **kwargs):  # a function of its own: extend_schema annotates the function
        return ReportAPIView.get(self, request, *args, **kwargs)

    get = extend_schema(parameters=parameters, responses=REPORT_RESPONSE, tags=["reports"],
                        operation_id=f"report_{slug}", description=f"The {report.title} report: "
                        f"{report.description}")(get)
    view = type(f"{slug.title()}ReportAPIView", (ReportAPIView,), {"report": report, "get": get,
                                                                     "__doc__": f"The {slug} report as JSON."})
    return view.as_view()
