"""URLs of the sales pages (deals, board, forecast, my work, activities), included under /crm/."""

from django.urls import path

from crm.views import activities, board, deals, forecast, mywork

urlpatterns = [
    path("deals/", deals.deal_list_view, name="deal-list"),
    path("deals/export.csv", deals.deal_export_view, name="deal-export"),
    path("deals/new/", deals.deal_create_view, name="deal-create"),
    path("deals/<int:pk>/", deals.deal_detail_view, name="deal-detail"),
    path("deals/<int:pk>/edit/", deals.deal_edit_view, name="deal-edit"),
    path("deals/<int:pk>/fields/", deals.deal_fields_view, name="deal-fields"),
    path("deals/<int:pk>/stage/", deals.deal_stage_view, name="deal-stage"),
    path("deals/<int:pk>/won/", deals.deal_won_view, name="deal-won"),
    path("deals/<int:pk>/lost/", deals.deal_lost_view, name="deal-lost"),
    path("board/", board.board_view, name="deal-board"),
    path("board/move/", board.board_move_view, name="deal-board-move"),
    path("forecast/", forecast.forecast_view, name="deal-forecast"),
    path("my-work/", mywork.mywork_view, name="my-work"),
    path("activities/log/", activities.activity_log_view, name="activity-log"),
    path("activities/<int:pk>/complete/", activities.task_complete_view, name="task-complete"),
]
