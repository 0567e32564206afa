"""/api/reports/<report>/ for every report of the catalog."""

from django.urls import path

from reports.api import report_api_view
from reports.catalog import REPORTS

urlpatterns = [path(f"{slug}/", report_api_view(slug), name=f"api-report-{slug}") for slug in REPORTS]
