from django.urls import include, path

from crm.views import home

urlpatterns = [
    path("", home.dashboard, name="home"),
    path("crm/", home.crm_index, name="crm-index"),
    path("support/", home.support_index, name="support-index"),
    path("crm/", include("crm.urls_sales")),
    path("crm/", include("crm.urls_contacts")),
    path("crm/", include("crm.urls_imports")),
]
