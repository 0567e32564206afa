"""Admin for contacts, companies, custom field definitions, lifecycle changes and saved views.

Contacts and companies are created, changed and deleted through their services (crm.admin.services_bridge), so
the CDP hears of an admin's change like of any other.
"""

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm.admin.services_bridge import ServiceAdmin, ServiceForm, lines
from crm.models import Company, Contact, ContactEmail, ContactPhone, CustomFieldDefinition, LifecycleChange, SavedView
from crm.services.companies import UPDATABLE_FIELDS as COMPANY_FIELDS
from crm.services.companies import company_create, company_delete, company_update
from crm.services.contacts import contact_create, contact_delete, contact_update


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ContactEmailInline(_ReadOnlyInline):
    model = ContactEmail


class ContactPhoneInline(_ReadOnlyInline):
    model = ContactPhone


class ContactAdminForm(ServiceForm):
    emails = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                             help_text="One address per line; the first is the primary one.")
    phones = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                             help_text="One number per line (international format, e.g. +49 30 1234567).")

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "title", "company", "owner", "team", "lifecycle_stage", "lead_source",
                  "tags", "custom"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["emails"] = "\n".join(self.instance.emails.order_by("-is_primary", "id")
                                                .values_list("email", flat=True))
            self.initial["phones"] = "\n".join(self.instance.phones.order_by("id").values_list("number", flat=True))

    def service_value(self, name, value):
        return lines(value) if name in ("emails", "phones") else value

    def service_create(self, data):
        return contact_create(actor=self.actor, **data)

    def service_update(self, instance, changes):
        return contact_update(contact=instance, actor=self.actor, changes=changes)


class LifecycleChangeInline(admin.TabularInline):
    model = LifecycleChange
    extra = 0
    readonly_fields = ["from_stage", "to_stage", "changed_at", "changed_by"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ServiceAdmin, SimpleHistoryAdmin):
    form = ContactAdminForm
    list_display = ["__str__", "email", "phone", "company", "lifecycle_stage", "owner", "team", "updated_at"]
    list_filter = ["lifecycle_stage", "lead_source", "owner", "team", "created_at"]
    search_fields = ["first_name", "last_name", "email", "emails__email", "phones__number", "company__name"]
    list_select_related = ["company", "owner", "team"]
    autocomplete_fields = ["company", "owner"]
    readonly_fields = ["email", "phone", "created_at", "updated_at"]
    inlines = [ContactEmailInline, ContactPhoneInline, LifecycleChangeInline]
    show_full_result_count = False  # counting 100k rows on every search is wasted work
    history_list_display = ["lifecycle_stage", "owner"]

    def delete_service(self, obj, actor):
        contact_delete(contact=obj, actor=actor)


class CompanyAdminForm(ServiceForm):
    class Meta:
        model = Company
        fields = sorted(COMPANY_FIELDS)

    def service_create(self, data):
        return company_create(actor=self.actor, **data)

    def service_update(self, instance, changes):
        return company_update(company=instance, actor=self.actor, changes=changes)


@admin.register(Company)
class CompanyAdmin(ServiceAdmin, SimpleHistoryAdmin):
    form = CompanyAdminForm
    list_display = ["name", "domain", "industry", "size", "country", "owner", "team", "updated_at"]
    list_filter = ["size", "industry", "country", "owner", "team"]
    search_fields = ["name", "domain"]
    list_select_related = ["owner", "team"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

    def delete_service(self, obj, actor):
        company_delete(company=obj, actor=actor)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "object_type", "field_type", "required", "order"]
    list_filter = ["object_type", "field_type", "required"]
    list_editable = ["order"]
    search_fields = ["key", "label"]
    prepopulated_fields = {"key": ["label"]}


@admin.register(LifecycleChange)
class LifecycleChangeAdmin(admin.ModelAdmin):
    """The lifecycle log is a record of what happened (written by the contact services): not edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    list_display = ["contact", "from_stage", "to_stage", "changed_at", "changed_by"]
    list_filter = ["to_stage", "from_stage", "changed_at"]
    search_fields = ["contact__first_name", "contact__last_name", "contact__email"]
    list_select_related = ["contact", "changed_by"]
    raw_id_fields = ["contact"]
    date_hierarchy = "changed_at"


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "object_type", "user", "query_string", "created_at"]
    list_filter = ["object_type"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
