"""The support desk: tickets, their conversation, queues, SLA policies on business-hours calendars, canned
responses, ticket history and inbound mail. Rules live in crm/services/tickets*.py; pages and the API read
through crm/selectors/tickets.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Func, Q


class NextTicketNumber(Func):
    """``nextval('crm_ticket_number_seq')``: ticket numbers come from their own sequence (created in the
    migration), so every writer — services, COPY in the benchmark — gets a unique readable number."""

    template = "nextval('crm_ticket_number_seq')"
    output_field = models.BigIntegerField()

    def __init__(self):
        super().__init__()


class BusinessCalendar(models.Model):
    """Working hours per weekday in a timezone, minus holidays. SLA targets count only these hours.

    ``hours`` maps the ISO weekday as a string ("1" = Monday … "7" = Sunday) to a list of ``["09:00", "17:00"]``
    intervals; a missing weekday is a day off. A calendar with no hours at all counts every hour (24/7)."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=dict, blank=True)
    holidays = ArrayField(models.DateField(), default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketQueue(models.Model):
    """A queue of tickets worked by one team. ``email_address`` is the support address whose mail lands here;
    ``inbound_token`` is the secret in its inbound URL."""

    name = models.CharField(max_length=100, unique=True)
    team = models.ForeignKey("crm.Team", on_delete=models.PROTECT, related_name="ticket_queues")
    email_address = models.CharField(max_length=254, blank=True)
    inbound_token = models.CharField(max_length=64, unique=True)
    round_robin = models.BooleanField(default=False, help_text="Assign new tickets in turn to available agents.")
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="queues")
    is_default = models.BooleanField(default=False, help_text="Where web-form tickets land.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["email_address"], condition=~Q(email_address=""),
                                    name="crm_ticketqueue_address_unique"),
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="crm_ticketqueue_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class AgentAvailability(models.Model):
    """Whether an agent takes round-robin tickets (absent row = available)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_availability")
    available = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user} {'available' if self.available else 'away'}"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class SlaPolicy(models.Model):
    """Targets for a priority (and optionally one queue; a queue's own policy wins over the shared one)."""

    name = models.CharField(max_length=100)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices)
    queue = models.ForeignKey(TicketQueue, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies")
    first_response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    warn_before_minutes = models.PositiveIntegerField(default=30)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="sla_policies", help_text="Empty: the queue's calendar, else 24/7.")

    class Meta:
        ordering = ["priority", "name"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["priority", "queue"], name="crm_slapolicy_queue_priority"),
            models.UniqueConstraint(fields=["priority"], condition=Q(queue__isnull=True),
                                    name="crm_slapolicy_shared_priority"),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """A customer's request. ``status`` moves only along ``crm.services.tickets.ALLOWED_TRANSITIONS``.

    SLA: ``first_response_due_at`` / ``resolution_due_at`` are wall-clock instants computed in business hours;
    while pending or on hold the resolution clock is paused (``sla_paused_at`` set, ``resolution_due_at`` null,
    the business seconds left kept in ``resolution_remaining_seconds``)."""

    Status = TicketStatus
    Priority = TicketPriority

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEB = "web", "Web form"
        PHONE = "phone", "Phone"
        API = "api", "API"

    number = models.BigIntegerField(unique=True, db_default=NextTicketNumber(), editable=False)
    subject = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    requester = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="tickets")
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="tickets")
    queue = models.ForeignKey(TicketQueue, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    # The queue's team, copied so that visibility and the team queues read one indexed column.
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets")
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_remaining_seconds = models.BigIntegerField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    csat_rating = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   validators=[MinValueValidator(1), MaxValueValidator(5)])
    csat_comment = models.TextField(blank=True)
    csat_at = models.DateTimeField(null=True, blank=True)
    # The solve (its solved_at) whose CSAT request has gone out: one request per solve, whatever re-runs the task.
    csat_requested_for = models.DateTimeField(null=True, blank=True, editable=False)
    message_id = models.CharField(max_length=255, blank=True, help_text="Message-ID of the mail that opened it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The queues: open tickets by SLA due, per assignee / team / unassigned; the breach sweep.
            models.Index(fields=["assignee", "resolution_due_at", "id"], name="crm_ticket_assignee_due",
                         condition=Q(status__in=["new", "open", "pending", "on_hold"])),
            # INCLUDE: the queue counts of a team are read from this index alone (index-only scan).
            models.Index(fields=["team", "resolution_due_at", "id"], name="crm_ticket_team_due",
                         include=["assignee_id", "resolution_breached_at"],
                         condition=Q(status__in=["new", "open", "pending", "on_hold"])),
            models.Index(fields=["team", "resolution_due_at", "id"], name="crm_ticket_unassigned_due",
                         condition=Q(status__in=["new", "open", "pending", "on_hold"], assignee__isnull=True)),
            models.Index(fields=["resolution_due_at", "id"], name="crm_ticket_open_due",
                         include=["assignee_id", "resolution_breached_at"],
                         condition=Q(status__in=["new", "open", "pending", "on_hold"])),
            models.Index(fields=["resolution_due_at"], name="crm_ticket_resolution_due",
                         condition=Q(status__in=["new", "open"], resolution_breached_at__isnull=True)),
            models.Index(fields=["first_response_due_at"], name="crm_ticket_first_due",
                         condition=Q(status__in=["new", "open", "pending", "on_hold"],
                                     first_response_at__isnull=True, first_response_breached_at__isnull=True)),
            models.Index(fields=["requester", "-created_at"], name="crm_ticket_requester"),
            models.Index(fields=["created_at"], name="crm_ticket_created"),
            models.Index(fields=["solved_at"], name="crm_ticket_solved", condition=Q(solved_at__isnull=False)),
            models.Index(fields=["message_id"], name="crm_ticket_message_id", condition=~Q(message_id="")),
            GinIndex(fields=["tags"], name="crm_ticket_tags"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(csat_rating__isnull=True) | Q(csat_rating__gte=1, csat_rating__lte=5),
                                   name="crm_ticket_csat_range"),
            models.CheckConstraint(condition=~Q(status="solved") | Q(solved_at__isnull=False),
                                   name="crm_ticket_solved_at"),
            models.CheckConstraint(condition=~Q(status="closed") | Q(closed_at__isnull=False),
                                   name="crm_ticket_closed_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def reference(self) -> str:
        """The tag put in mail subjects; inbound replies are threaded by it."""
        return f"[#{self.number}]"


class TicketEntry(models.Model):
    """One entry of a ticket's conversation: a public reply (to or from the customer) or an internal note.

    ``body_html`` holds customer HTML already sanitised with nh3 at write time."""

    class Kind(models.TextChoices):
        PUBLIC = "public", "Public reply"
        NOTE = "note", "Internal note"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PUBLIC)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    incoming = models.BooleanField(default=False, help_text="Written by the customer.")
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "ticket entries"
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="crm_ticketentry_ticket"),
            models.Index(fields=["message_id"], name="crm_ticketentry_message_id", condition=~Q(message_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on ticket {self.ticket_id}"


class TicketAttachment(models.Model):
    """A file of a conversation entry, stored through Django's storage; served by a view that checks the
    ticket's visibility (never by a public media URL)."""

    entry = models.ForeignKey(TicketEntry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="tickets/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.filename


class TicketHistory(models.Model):
    """One change of a ticket (status, priority, assignee, queue) or an SLA event."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status"
        PRIORITY = "priority", "Priority"
        ASSIGNEE = "assignee", "Assignee"
        QUEUE = "queue", "Queue"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breach"
        CSAT = "csat", "Rating"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "ticket history"
        indexes = [models.Index(fields=["ticket", "at"], name="crm_tickethistory_ticket")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.old_value} → {self.new_value}"


class CannedResponse(models.Model):
    """A reply template. Placeholders: {{ requester_name }}, {{ ticket_number }}, {{ agent_name }}.
    ``team`` empty = shared with every agent."""

    title = models.CharField(max_length=150)
    body = models.TextField()
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="canned_responses")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class SupportNotification(models.Model):
    """An in-app notice to an agent (SLA warnings and breaches), shown on the agent's queue pages."""

    class Kind(models.TextChoices):
        # One notice per ticket and kind: the first-response and the resolution breach are both told.
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "Resolution SLA breach"
        SLA_FIRST_RESPONSE_BREACH = "sla_first_breach", "First-response SLA breach"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_notifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Only unread notices are listed; read ones stay for the record without weighing on the index.
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="crm_supportnotice_unread_at",
                                condition=Q(read_at__isnull=True))]
        constraints = [models.UniqueConstraint(fields=["user", "ticket", "kind"], name="crm_supportnotice_once")]

    def __str__(self) -> str:
        return self.text


class EmailCaptureAddress(models.Model):
    """A user's personal BCC address: mail sent to it is filed on the matching contacts' timelines."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_capture")
    token = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"BCC of {self.user}"


class InboundEmail(models.Model):
    """Every inbound message once, by Message-ID: replays of a provider's webhook change nothing."""

    class Outcome(models.TextChoices):
        TICKET = "ticket", "New ticket"
        REPLY = "reply", "Added to ticket"
        LOGGED = "logged", "Logged to contacts"
        IGNORED = "ignored", "Ignored (loop or auto-reply)"

    message_id = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.outcome})"
