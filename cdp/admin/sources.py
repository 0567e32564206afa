from django.contrib import admin, messages

from cdp.models import Source
from cdp.services.email_webhooks import SETTING_FOR_PLATFORM
from cdp.services.source_cache import source_cache_invalidate
from cdp.services.sources import source_end_grace, source_rotate_key

SECRET_SETTINGS = frozenset(SETTING_FOR_PLATFORM.values())


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Sources for admins. Write keys are stored hashed (only their prefix is shown); the signing keys of email
    sources are never shown in clear (they are set on the source page, which keeps an empty field unchanged)."""

    list_display = ["name", "kind", "enabled", "rate_limit_per_second", "asserts_identity", "key_hint", "created_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["key_hint", "previous_key_hint", "previous_key_expires_at", "settings_masked", "created_at"]
    fields = [
        "name", "kind", "enabled", "allowed_origins", "rate_limit_per_second", "identity_keys", "settings_masked",
        "key_hint", "previous_key_hint", "previous_key_expires_at", "created_at",
    ]
    actions = ["rotate_write_key", "end_grace_period"]

    @admin.display(description="Settings")
    def settings_masked(self, obj: Source) -> str:
        shown = {k: ("•••••• (set)" if k in SECRET_SETTINGS and v else v) for k, v in (obj.settings or {}).items()}
        return ", ".join(f"{k}: {v}" for k, v in sorted(shown.items())) or "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        source_cache_invalidate()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        source_cache_invalidate()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        source_cache_invalidate()

    @admin.action(description="Rotate write key (shown once; the old key keeps working for the grace period)")
    def rotate_write_key(self, request, queryset):
        for source in queryset.exclude(kind=Source.Kind.CRM):
            key = source_rotate_key(source=source)
            self.message_user(request, f"New write key of “{source.name}” (copy it now, it is not shown again): "
                                       f"{key}", messages.WARNING)

    @admin.action(description="End the grace period: the previous write key stops working now")
    def end_grace_period(self, request, queryset):
        ended = sum(source_end_grace(source=source) for source in queryset)
        self.message_user(request, f"The previous write key of {ended} source(s) no longer works.", messages.SUCCESS)
