"""Contact, company and saved-view pages (included under /crm/ from crm/urls.py)."""

from django.urls import path

from crm.views import companies, contacts, saved_views
from crm.views.records import record_urlpatterns

urlpatterns = [
    *record_urlpatterns(contacts.CONTACTS, list_view=contacts.contact_list, detail_view=contacts.contact_show),
    path("contacts/bulk/", contacts.contact_bulk, name="contact-bulk"),
    *record_urlpatterns(companies.COMPANIES, list_view=companies.company_list, detail_view=companies.company_show),
    path("companies/options/", companies.company_options, name="company-options"),
    path("views/<str:object_type>/save/", saved_views.saved_view_create, name="saved-view-create"),
    path("views/<int:pk>/delete/", saved_views.saved_view_remove, name="saved-view-delete"),
]
