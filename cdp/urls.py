from django.urls import include, path

from cdp.views import debugger, email_hooks, imports, sources

app_name = "cdp"
urlpatterns = [
    path("", sources.source_list, name="index"),
    path("", include("cdp.urls_profiles")),
    path("sources/new/", sources.source_new, name="source-new"),
    path("sources/<int:pk>/", sources.source_detail, name="source-detail"),
    path("sources/<int:pk>/rotate/", sources.source_rotate, name="source-rotate"),
    path("sources/<int:pk>/end-grace/", sources.source_end_grace_view, name="source-end-grace"),
    path("sources/<int:pk>/try/", sources.source_try, name="source-try"),
    path("sources/<int:pk>/debugger/", debugger.debugger, name="source-debugger"),
    path("sources/<int:pk>/debugger/feed/", debugger.debugger_feed, name="source-debugger-feed"),
    path("imports/", imports.import_list, name="imports"),
    path("imports/new/", imports.import_new, name="import-new"),
    path("imports/<int:pk>/", imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import-progress"),
    path("imports/<int:pk>/errors.csv", imports.import_errors, name="import-errors"),
    path("hooks/email/<int:source_id>/<str:platform>", email_hooks.email_hook, name="email-hook"),
]
