from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("status/", views.status_page, name="status"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", login_required(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    path("api/crm/", include("crm.api.urls")),
    path("api/reports/", include("reports.api_urls")),
    path("api/", include("segments.api_urls")),
    path("cdp/", include("cdp.urls")),
    path("segments/", include("segments.urls")),
    path("reports/", include("reports.urls")),
    path("v1/profiles/", include("cdp.api.profiles.urls")),
    path("v1/", include("cdp.api.urls")),
    path("", include("crm.urls")),
]

handler404 = "config.views.page_not_found"
