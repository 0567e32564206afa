from django.urls import path

from crm.views import home

urlpatterns = [
    path("", home.dashboard, name="home"),
    path("crm/", home.crm_index, name="crm-index"),
    path("support/", home.support_index, name="support-index"),
]
