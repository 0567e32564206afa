from django.urls import path

from crm.views.support import canned, inbound, metrics, public, queues, tickets

urlpatterns = [
    path("support/", queues.support_index, name="support-index"),
    path("support/queues/<slug:name>/", queues.queue_view, name="support-queue"),
    path("support/metrics/", metrics.metrics_view, name="support-metrics"),
    path("support/email-capture/", queues.email_capture_view, name="support-email-capture"),
    path("support/me/", queues.agent_prefs_view, name="support-agent-prefs"),
    path("support/canned/", canned.canned_list, name="support-canned"),
    path("support/canned/new/", canned.canned_new, name="support-canned-new"),
    path("support/canned/<int:pk>/edit/", canned.canned_edit, name="support-canned-edit"),
    path("support/canned/<int:pk>/delete/", canned.canned_delete, name="support-canned-delete"),
    path("support/bulk/", queues.bulk_view, name="support-bulk"),
    path("support/tickets/new/", tickets.ticket_new, name="support-ticket-new"),
    path("support/tickets/<int:pk>/", tickets.ticket_detail, name="support-ticket"),
    path("support/tickets/<int:pk>/entries/", tickets.ticket_post_entry, name="support-ticket-entry"),
    path("support/tickets/<int:pk>/update/", tickets.ticket_update, name="support-ticket-update"),
    path("support/tickets/<int:pk>/take/", tickets.ticket_take, name="support-ticket-take"),
    path("support/attachments/<int:pk>/", tickets.attachment_download, name="support-attachment"),
    path("support/inbound/<str:token>/<slug:provider>/", inbound.inbound, name="support-inbound"),
    path("help/new/", public.web_form, name="support-web-form"),
    path("help/rate/<str:token>/", public.csat_view, name="support-csat"),
]
