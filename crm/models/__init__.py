from crm.models.activities import Activity
from crm.models.companies import Company
from crm.models.contacts import Contact, ContactEmail, ContactPhone, LifecycleChange, LifecycleStage
from crm.models.custom_fields import CustomFieldDefinition
from crm.models.deals import Deal, DealStageChange, SalesTarget
from crm.models.imports import ImportJob, ImportRowError
from crm.models.merges import CompanyMerge, ContactMerge, DuplicateCandidate, DuplicateDismissal, DuplicateScan
from crm.models.outbox import OutboxEntry
from crm.models.pipelines import Pipeline, Stage
from crm.models.saved_views import SavedView
from crm.models.teams import Team

__all__ = [
    "Company", "Contact", "ContactEmail", "ContactPhone", "CustomFieldDefinition", "LifecycleChange",
    "LifecycleStage", "OutboxEntry", "SavedView", "Team",
]
__all__ += ["Activity", "Deal", "DealStageChange", "Pipeline", "SalesTarget", "Stage"]
__all__ += ["CompanyMerge", "ContactMerge", "DuplicateCandidate", "DuplicateDismissal", "DuplicateScan", "ImportJob",
            "ImportRowError"]
from crm.models.tickets import (  # noqa: E402
    AgentAvailability,
    BusinessCalendar,
    CannedResponse,
    EmailCaptureAddress,
    InboundEmail,
    SlaPolicy,
    SupportNotification,
    Ticket,
    TicketAttachment,
    TicketEntry,
    TicketHistory,
    TicketPriority,
    TicketQueue,
    TicketStatus,
)

__all__ += ["AgentAvailability", "BusinessCalendar", "CannedResponse", "EmailCaptureAddress", "InboundEmail",
            "SlaPolicy", "SupportNotification", "Ticket", "TicketAttachment", "TicketEntry", "TicketHistory",
            "TicketPriority", "TicketQueue", "TicketStatus"]
