from django.urls import path

from cdp import views

app_name = "cdp"
urlpatterns = [path("", views.index, name="index")]
