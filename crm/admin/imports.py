"""Admin for imports, merges and duplicate dismissals (inspection; the pages and services do the work)."""

from django.contrib import admin

from crm.models import CompanyMerge, ContactMerge, DuplicateDismissal, ImportJob, ImportRowError


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "object_type", "status", "total_rows", "processed_rows", "created_count",
                    "updated_count", "failed_count", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "object_type", "created_at"]
    search_fields = ["original_name", "created_by__username", "created_by__email"]
    list_select_related = ["created_by"]
    readonly_fields = ["file", "headers", "mapping", "total_rows", "processed_rows", "created_count", "updated_count",
                       "failed_count", "failure", "created_by", "created_at", "started_at", "finished_at"]
    date_hierarchy = "created_at"


@admin.register(ImportRowError)
class ImportRowErrorAdmin(admin.ModelAdmin):
    list_display = ["job", "row_number", "errors"]
    list_filter = ["job__object_type"]
    search_fields = ["=job__id"]
    raw_id_fields = ["job"]


class _MergeAdmin(admin.ModelAdmin):
    list_display = ["id", "survivor_id_at_merge", "other_id", "merged_by", "merged_at"]
    list_filter = ["merged_at"]
    search_fields = ["=survivor_id_at_merge", "=other_id", "merged_by__username"]
    list_select_related = ["merged_by"]
    readonly_fields = ["survivor", "survivor_id_at_merge", "other_id", "merged_by", "merged_at", "field_choices",
                       "other_snapshot", "merged_snapshot", "moved"]
    date_hierarchy = "merged_at"

    def has_add_permission(self, request):
        return False


admin.site.register(ContactMerge, _MergeAdmin)
admin.site.register(CompanyMerge, _MergeAdmin)


@admin.register(DuplicateDismissal)
class DuplicateDismissalAdmin(admin.ModelAdmin):
    list_display = ["contact_a_id", "contact_b_id", "dismissed_by", "dismissed_at"]
    search_fields = ["=contact_a_id", "=contact_b_id"]
    list_select_related = ["dismissed_by"]
