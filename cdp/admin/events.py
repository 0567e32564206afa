from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from cdp.models import IngestBatch, RawEvent, RejectedMessage


class _CappedCountPaginator(Paginator):
    """Counting a partitioned event table exactly on every admin page is too slow: count at most 10,001 rows."""

    @cached_property
    def count(self) -> int:
        return self.object_list[:10_001].count()


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Collected data is append-only: inspect it here, never edit it."""

    paginator = _CappedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IngestBatch)
class IngestBatchAdmin(_ReadOnlyAdmin):
    list_display = ["id", "source", "received_at", "event_count", "processed_at", "attempts"]
    list_filter = ["source"]
    list_select_related = ["source"]
    date_hierarchy = "received_at"


@admin.register(RawEvent)
class RawEventAdmin(_ReadOnlyAdmin):
    list_display = ["id", "type", "event", "user_id", "anonymous_id", "source", "received_at", "timestamp"]
    list_filter = ["type", "source"]
    list_select_related = ["source"]
    search_fields = ["=message_id", "=user_id", "=anonymous_id"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RejectedMessage)
class RejectedMessageAdmin(_ReadOnlyAdmin):
    list_display = ["received_at", "source", "error", "detail", "message_id"]
    list_filter = ["error", "source"]
    list_select_related = ["source"]
