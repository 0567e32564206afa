from django.contrib import admin

from segments.models import Membership, ProfileScore, ScoreModel, Segment, SizeSnapshot


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


@admin.register(ScoreModel)
class ScoreModelAdmin(admin.ModelAdmin):
    """Inspection; create and change models on the Lead scoring pages or the API (they check the conditions)."""

    list_display = ["name", "is_default", "half_life_days", "cap", "scored_count", "last_scored_at", "last_error"]
    readonly_fields = ["name", "conditions", "half_life_days", "cap", "is_default", "version", "last_scored_at",
                       "last_score_ms", "scored_count", "last_error", "created_by"]


@admin.register(ProfileScore)
class ProfileScoreAdmin(admin.ModelAdmin):
    list_display = ["model", "profile_id", "contact_id", "score", "scored_at"]
    list_filter = ["model"]
    search_fields = ["=profile_id", "=contact_id"]
    list_select_related = ["model"]
