from django.urls import include, path

from crm.views import home

urlpatterns = [
    path("", home.dashboard, name="home"),
    path("crm/", home.crm_index, name="crm-index"),
    path("", include("crm.urls_support")),
    path("crm/", include("crm.urls_sales")),
    path("crm/", include("crm.urls_contacts")),
    path("crm/", include("crm.urls_imports")),
]
