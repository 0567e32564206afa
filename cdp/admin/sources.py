from django.contrib import admin, messages

from cdp.models import Source
from cdp.services.sources import source_rotate_key


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled", "rate_limit_per_second", "created_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["write_key", "previous_write_key", "previous_key_expires_at", "created_at"]
    fields = [
        "name", "kind", "enabled", "allowed_origins", "rate_limit_per_second", "settings",
        "write_key", "previous_write_key", "previous_key_expires_at", "created_at",
    ]
    actions = ["rotate_write_key"]

    @admin.action(description="Rotate write key (the old key keeps working for the grace period)")
    def rotate_write_key(self, request, queryset):
        for source in queryset:
            source_rotate_key(source=source)
        self.message_user(request, f"Rotated the write key of {queryset.count()} source(s).", messages.SUCCESS)
