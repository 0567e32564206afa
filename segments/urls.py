from django.urls import path

from segments import export_views, scoring_views, views

app_name = "segments"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("preview/", views.preview, name="preview"),
    path("suggest/", views.suggest, name="suggest"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/members.csv", views.export, name="export"),
    path("<int:pk>/refresh/", views.refresh, name="refresh"),
    path("<int:pk>/freeze/", export_views.freeze, name="freeze"),
    path("exports/<int:pk>/download/", export_views.export_file_download, name="export-file"),
    path("<int:pk>/duplicate/", views.duplicate, name="duplicate"),
    path("scoring/", scoring_views.scoring_index, name="scoring"),
    path("scoring/new/", scoring_views.scoring_create, name="scoring-create"),
    path("scoring/<int:pk>/", scoring_views.scoring_edit, name="scoring-edit"),
    path("scoring/<int:pk>/rescore/", scoring_views.scoring_rescore, name="scoring-rescore"),
]
