from django.urls import path

from segments import dead_letter_views, destination_views, export_views, scoring_views, views

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
    path("<int:pk>/destinations/webhook/", destination_views.webhook_add, name="webhook-add"),
    path("<int:pk>/destinations/action/", destination_views.action_add, name="action-add"),
    path("<int:pk>/destinations/<int:destination_pk>/", destination_views.destination_edit, name="destination-edit"),
    path("<int:pk>/destinations/<int:destination_pk>/remove/", destination_views.destination_remove,
         name="destination-remove"),
    path("<int:pk>/destinations/<int:destination_pk>/rotate/", destination_views.destination_rotate,
         name="destination-rotate"),
    path("<int:pk>/destinations/<int:destination_pk>/log/", destination_views.destination_log,
         name="destination-log"),
    path("dead-letters/", dead_letter_views.dead_letter_list, name="dead-letters"),
    path("dead-letters/act/", dead_letter_views.dead_letters_act, name="dead-letters-act"),
    path("dead-letters/<int:delivery_pk>/", dead_letter_views.dead_letter_detail, name="dead-letter"),
    path("scoring/", scoring_views.scoring_index, name="scoring"),
    path("scoring/new/", scoring_views.scoring_create, name="scoring-create"),
    path("scoring/<int:pk>/", scoring_views.scoring_edit, name="scoring-edit"),
    path("scoring/<int:pk>/rescore/", scoring_views.scoring_rescore, name="scoring-rescore"),
]
