from django.contrib import admin
from django.db.models import Count

from crm.models import Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager", "member_count", "created_at"]
    search_fields = ["name", "manager__username", "members__username"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["manager"]

    list_select_related = ["manager"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("members", distinct=True))

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count
