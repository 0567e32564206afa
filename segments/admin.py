import os

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from segments.models import (
    ActionRun,
    Delivery,
    Destination,
    ExportFile,
    ExportSchedule,
    Membership,
    ProfileScore,
    ScoreModel,
    Segment,
    SizeSnapshot,
)
from segments.services.destinations import deliveries_discard, deliveries_replay
from segments.services.exports import export_files_delete, export_schedule_check


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

@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "kind", "on_enter", "on_exit", "enabled", "created_at"]
    list_filter = ["kind", "enabled"]
    list_select_related = ["segment"]
    exclude = ["secret", "previous_secret"]  # shown once, never again
    readonly_fields = ["previous_secret_until", "round_robin_last_user_id", "created_by"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log and the dead-letter list (filter status = dead): inspect, replay or discard."""

    list_display = ["delivery_id", "destination", "event", "profile_id", "status", "attempts", "last_status_code",
                    "last_response_ms", "created_at", "dead_at"]
    list_filter = ["status", "event", "destination"]
    search_fields = ["=delivery_id", "=profile_id"]
    list_select_related = ["destination"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["replay", "discard"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay (same delivery id, fresh retries)")
    def replay(self, request, queryset):
        count = deliveries_replay(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} delivery(ies) queued again.")

    @admin.action(description="Discard from the dead-letter list")
    def discard(self, request, queryset):
        count = deliveries_discard(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} delivery(ies) discarded.")


@admin.register(ActionRun)
class ActionRunAdmin(admin.ModelAdmin):
    list_display = ["destination", "profile_id", "status", "contact_id", "activity_id", "created_at", "done_at"]
    list_filter = ["status"]
    list_select_related = ["destination"]
    readonly_fields = [f.name for f in ActionRun._meta.fields]


@admin.register(ExportFile)
class ExportFileAdmin(admin.ModelAdmin):
    """Kept member exports (written by the schedules, deleted after their retention): "Download" fetches the file
    through the segments app's download view (media files are not served publicly: they hold personal data)."""

    list_display = ["segment", "download", "rows", "size_bytes", "created_at", "expires_at"]
    list_select_related = ["segment"]
    readonly_fields = ["segment", "schedule", "download", "rows", "size_bytes", "created_at", "expires_at",
                       "created_by"]
    exclude = ["file"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="File")
    def download(self, obj: ExportFile) -> str:
        return format_html('<a href="{}">Download {}</a>', reverse("segments:export-file", args=[obj.pk]),
                           os.path.basename(obj.file.name))

    def delete_model(self, request, obj: ExportFile) -> None:
        export_files_delete(files=[obj])

    def delete_queryset(self, request, queryset) -> None:
        export_files_delete(files=list(queryset))


class ExportScheduleForm(forms.ModelForm):
    class Meta:
        model = ExportSchedule
        fields = ["segment", "every_hours", "keep_days", "enabled", "next_run_at"]

    def clean(self):
        data = super().clean()
        if data.get("every_hours") is not None and data.get("keep_days") is not None:
            try:
                export_schedule_check(every_hours=data["every_hours"], keep_days=data["keep_days"])
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.add_error(field, messages)
        return data


@admin.register(ExportSchedule)
class ExportScheduleAdmin(admin.ModelAdmin):
    """Scheduled member exports; a new schedule runs at the next sweep when no first run time is given."""

    form = ExportScheduleForm
    list_display = ["segment", "every_hours", "keep_days", "enabled", "next_run_at"]
    list_select_related = ["segment"]
