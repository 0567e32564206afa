"""Admin of the support desk's configuration (queues, calendars, SLA policies, canned responses) and inspection of
tickets and inbound mail. Ticket changes go through the pages and services, so tickets are read-only here."""

from django.contrib import admin

from crm.models import (
    AgentAvailability,
    BusinessCalendar,
    CannedResponse,
    EmailCaptureAddress,
    InboundEmail,
    SlaPolicy,
    Ticket,
    TicketQueue,
)


@admin.register(TicketQueue)
class TicketQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "email_address", "round_robin", "is_default", "calendar"]
    list_select_related = ["team", "calendar"]
    autocomplete_fields = ["team"]
    readonly_fields = ["last_assigned"]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone"]
    search_fields = ["name"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "queue", "first_response_minutes", "resolution_minutes", "calendar"]
    list_select_related = ["queue", "calendar"]
    list_filter = ["priority"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "created_at"]
    list_select_related = ["team"]
    search_fields = ["title", "body"]


@admin.register(AgentAvailability)
class AgentAvailabilityAdmin(admin.ModelAdmin):
    list_display = ["user", "available"]
    autocomplete_fields = ["user"]


@admin.register(EmailCaptureAddress)
class EmailCaptureAddressAdmin(admin.ModelAdmin):
    list_display = ["user", "token"]
    autocomplete_fields = ["user"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "subject", "status", "priority", "queue", "assignee", "created_at"]
    list_select_related = ["queue", "assignee"]
    list_filter = ["status", "priority", "channel"]
    search_fields = ["=number", "subject"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = ["message_id", "sender", "subject", "outcome", "received_at"]
    list_filter = ["outcome"]
    search_fields = ["message_id", "sender"]

    def has_change_permission(self, request, obj=None):
        return False
