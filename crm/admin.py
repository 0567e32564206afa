from django.contrib import admin

from crm.models import Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager", "member_count", "created_at"]
    search_fields = ["name", "manager__username", "members__username"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["manager"]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.members.count()
