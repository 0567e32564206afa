"""Contact, company and saved-view pages (included under /crm/ from crm/urls.py)."""

from django.urls import path

from crm.views import companies, contacts, saved_views

urlpatterns = [
    path("contacts/", contacts.contact_list, name="contact-list"),
    path("contacts/new/", contacts.contact_new, name="contact-new"),
    path("contacts/export.csv", contacts.contact_export, name="contact-export"),
    path("contacts/bulk/", contacts.contact_bulk, name="contact-bulk"),
    path("contacts/<int:pk>/", contacts.contact_show, name="contact-detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", contacts.contact_remove, name="contact-delete"),
    path("contacts/<int:pk>/timeline/", contacts.contact_timeline, name="contact-timeline"),
    path("contacts/<int:pk>/inline/<str:field>/", contacts.contact_inline, name="contact-inline"),
    path("companies/", companies.company_list, name="company-list"),
    path("companies/new/", companies.company_new, name="company-new"),
    path("companies/export.csv", companies.company_export, name="company-export"),
    path("companies/options/", companies.company_options, name="company-options"),
    path("companies/<int:pk>/", companies.company_show, name="company-detail"),
    path("companies/<int:pk>/edit/", companies.company_edit, name="company-edit"),
    path("companies/<int:pk>/delete/", companies.company_remove, name="company-delete"),
    path("companies/<int:pk>/timeline/", companies.company_timeline, name="company-timeline"),
    path("companies/<int:pk>/inline/<str:field>/", companies.company_inline, name="company-inline"),
    path("views/<str:object_type>/save/", saved_views.saved_view_create, name="saved-view-create"),
    path("views/<int:pk>/delete/", saved_views.saved_view_remove, name="saved-view-delete"),
]
