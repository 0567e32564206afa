from django.urls import path

from cdp.api.profiles import views

app_name = "profiles_api"
urlpatterns = [
    path("<str:ident>/traits", views.traits, name="traits"),
    path("<str:ident>/events", views.events, name="events"),
    path("<str:ident>/segments", views.segments, name="segments"),
    path("<str:ident>/scores", views.scores, name="scores"),
    path("<str:ident>/identifiers", views.identifiers, name="identifiers"),
]
