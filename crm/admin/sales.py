"""Admin for pipelines, stages, deals, activities and sales targets (imported by crm/admin/__init__.py).

Pipelines, stages and targets are configured here. Deals and activities are inspected here and changed on the
sales pages or the API, where the services record stage changes and outbox events; deleting one here goes
through the same delete service.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm.admin.services_bridge import DeleteThroughService, NoHistoryRevert
from crm.models import Activity, Deal, DealStageChange, Pipeline, SalesTarget, Stage
from crm.services.activities import activity_delete
from crm.services.deals import deal_delete
from crm.services.pipelines import stage_probabilities_sync


class StageInline(admin.TabularInline):
    model = Stage
    extra = 1
    fields = ["order", "name", "probability", "is_won", "is_lost"]
    ordering = ["order"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "order", "stage_count", "created_at"]
    list_editable = ["is_default", "order"]
    search_fields = ["name"]
    inlines = [StageInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_stages=Count("stages"))

    @admin.display(description="Stages", ordering="_stages")
    def stage_count(self, obj):
        return obj._stages

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        stage_probabilities_sync(pipeline=form.instance)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "pipeline", "order", "probability", "is_won", "is_lost"]
    list_filter = ["pipeline", "is_won", "is_lost"]
    list_select_related = ["pipeline"]
    search_fields = ["name", "pipeline__name"]
    ordering = ["pipeline", "order"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        stage_probabilities_sync(pipeline=obj.pipeline)


class DealStageChangeInline(admin.TabularInline):
    model = DealStageChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_stage", "to_stage", "changed_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeleteThroughServiceAdmin(DeleteThroughService, ReadOnlyAdmin):
    """Inspect only; deleting goes through the record's delete service."""


@admin.register(Deal)
class DealAdmin(NoHistoryRevert, DeleteThroughServiceAdmin, SimpleHistoryAdmin):
    list_display = ["name", "pipeline", "stage", "status", "amount", "currency", "probability",
                    "expected_close_date", "owner", "team", "company", "updated_at"]
    list_filter = ["status", "pipeline", "stage", "currency", "owner", "team"]
    list_select_related = ["pipeline", "stage", "owner", "team", "company"]
    search_fields = ["name", "company__name", "owner__username"]
    date_hierarchy = "expected_close_date"
    raw_id_fields = ["company", "contacts"]
    inlines = [DealStageChangeInline]

    def delete_service(self, obj, actor):
        deal_delete(user=actor, deal=obj)


@admin.register(DealStageChange)
class DealStageChangeAdmin(ReadOnlyAdmin):
    list_display = ["deal", "from_stage", "to_stage", "changed_by", "changed_at"]
    list_filter = ["to_stage__pipeline", "to_stage"]
    list_select_related = ["deal", "from_stage", "to_stage", "changed_by"]
    search_fields = ["deal__name"]
    date_hierarchy = "changed_at"


@admin.register(Activity)
class ActivityAdmin(DeleteThroughServiceAdmin):
    list_display = ["subject", "kind", "occurred_at", "due_at", "done", "assignee", "owner", "deal", "contact",
                    "company"]
    list_filter = ["kind", "done", "call_outcome", "assignee", "reminder_attempts"]
    list_select_related = ["assignee", "owner", "deal", "contact", "company"]
    search_fields = ["subject", "body", "deal__name", "company__name", "contact__email"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["contact", "company", "deal"]

    def delete_service(self, obj, actor):
        activity_delete(user=actor, activity=obj)


@admin.register(SalesTarget)
class SalesTargetAdmin(admin.ModelAdmin):
    list_display = ["month", "owner", "team", "amount", "currency"]
    list_filter = ["currency", "team", "owner"]
    list_select_related = ["owner", "team"]
    search_fields = ["owner__username", "owner__first_name", "owner__last_name", "team__name"]
    date_hierarchy = "month"
    autocomplete_fields = ["owner", "team"]
