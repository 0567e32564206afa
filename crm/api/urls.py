"""The CRM API, mounted at /api/crm/ (contacts, companies, custom fields, saved views, and the sales routes)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from crm.api.companies import CompanyViewSet, CustomFieldDefinitionViewSet, SavedViewViewSet
from crm.api.contacts import ContactViewSet
from crm.api.merge import CompanyMergeView, ContactMergeView
from crm.api.tickets import CannedResponseViewSet, QueueViewSet, SlaPolicyViewSet, TicketViewSet

router = DefaultRouter()
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("companies", CompanyViewSet, basename="api-company")
router.register("custom-fields", CustomFieldDefinitionViewSet, basename="api-custom-field")
router.register("saved-views", SavedViewViewSet, basename="api-saved-view")
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("ticket-queues", QueueViewSet, basename="api-ticket-queue")
router.register("sla-policies", SlaPolicyViewSet, basename="api-sla-policy")
router.register("canned-responses", CannedResponseViewSet, basename="api-canned-response")

urlpatterns = [
    path("", include("crm.api.urls_sales")),
    path("contacts/<int:pk>/merge/", ContactMergeView.as_view(), name="api-contact-merge"),
    path("companies/<int:pk>/merge/", CompanyMergeView.as_view(), name="api-company-merge"),
    *router.urls,
]
