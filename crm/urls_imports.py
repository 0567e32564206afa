"""CSV import and duplicate review pages (included under /crm/ from crm/urls.py)."""

from django.urls import path

from crm.views import duplicates, imports

urlpatterns = [
    path("imports/", imports.import_list, name="import-list"),
    path("imports/<int:pk>/", imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/map/", imports.import_map, name="import-map"),
    path("imports/<int:pk>/preview/", imports.import_preview_page, name="import-preview"),
    path("imports/<int:pk>/start/", imports.import_start, name="import-start"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import-progress"),
    path("imports/<int:pk>/errors.csv", imports.import_errors_csv, name="import-errors"),
    path("duplicates/", duplicates.duplicate_list, name="duplicate-list"),
    path("duplicates/scan/", duplicates.duplicate_scan, name="duplicate-scan"),
    path("duplicates/<int:a>/<int:b>/", duplicates.duplicate_compare, name="duplicate-compare"),
    path("duplicates/<int:a>/<int:b>/dismiss/", duplicates.duplicate_dismiss_view, name="duplicate-dismiss"),
]
