from django.contrib import admin

from segments.models import Membership, Segment, SizeSnapshot


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "mode", "status", "size", "last_refreshed_at", "created_by"]
    list_filter = ["mode", "status"]
    search_fields = ["name", "description"]
    list_select_related = ["created_by"]
    readonly_fields = ["version", "refreshed_version", "size", "last_refreshed_at", "last_refresh_ms", "depends_on",
                       "uses_time", "status", "last_error", "attempts"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["segment", "profile_id", "entered_at", "exited_at"]
    list_filter = ["segment"]
    search_fields = ["=profile_id"]
    list_select_related = ["segment"]


@admin.register(SizeSnapshot)
class SizeSnapshotAdmin(admin.ModelAdmin):
    list_display = ["segment", "at", "size", "entered", "exited", "duration_ms", "full"]
    list_filter = ["segment"]
    list_select_related = ["segment"]
