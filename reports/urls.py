from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.reports_home, name="home"),
    path("digest/", views.digest_toggle, name="digest-toggle"),
    path("digest/unsubscribe/<str:token>/", views.digest_unsubscribe, name="digest-unsubscribe"),
    path("<slug:slug>/", views.report_page, name="report"),
    path("<slug:slug>/export.xlsx", views.report_export, {"fmt": "xlsx"}, name="export-xlsx"),
    path("<slug:slug>/export.csv", views.report_export, {"fmt": "csv"}, name="export-csv"),
]
