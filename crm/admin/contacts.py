"""Admin for contacts, companies, custom field definitions, lifecycle changes and saved views."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm.models import Company, Contact, ContactEmail, ContactPhone, CustomFieldDefinition, LifecycleChange, SavedView


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 0


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 0


class LifecycleChangeInline(admin.TabularInline):
    model = LifecycleChange
    extra = 0
    readonly_fields = ["from_stage", "to_stage", "changed_at", "changed_by"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "email", "phone", "company", "lifecycle_stage", "owner", "team", "updated_at"]
    list_filter = ["lifecycle_stage", "lead_source", "owner", "team", "created_at"]
    search_fields = ["first_name", "last_name", "email", "emails__email", "phones__number", "company__name"]
    list_select_related = ["company", "owner", "team"]
    autocomplete_fields = ["company", "owner"]
    readonly_fields = ["email", "phone", "created_at", "updated_at"]
    inlines = [ContactEmailInline, ContactPhoneInline, LifecycleChangeInline]
    show_full_result_count = False  # counting 100k rows on every search is wasted work
    history_list_display = ["lifecycle_stage", "owner"]


@admin.register(Company)
class CompanyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "domain", "industry", "size", "country", "owner", "team", "updated_at"]
    list_filter = ["size", "industry", "country", "owner", "team"]
    search_fields = ["name", "domain"]
    list_select_related = ["owner", "team"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "object_type", "field_type", "required", "order"]
    list_filter = ["object_type", "field_type", "required"]
    list_editable = ["order"]
    search_fields = ["key", "label"]
    prepopulated_fields = {"key": ["label"]}


@admin.register(LifecycleChange)
class LifecycleChangeAdmin(admin.ModelAdmin):
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
