from django.urls import path  # noqa: F401 - report pages register their paths here

app_name = "reports"

urlpatterns: list = []
