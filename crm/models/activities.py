"""Activities logged against contacts, companies and deals: notes, calls, emails, meetings, tasks."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Activity(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        TASK = "task", "Task"

    class CallOutcome(models.TextChoices):
        CONNECTED = "connected", "Connected"
        VOICEMAIL = "voicemail", "Left voicemail"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        WRONG_NUMBER = "wrong_number", "Wrong number"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    call_outcome = models.CharField(max_length=20, choices=CallOutcome.choices, blank=True)
    call_duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    meeting_start = models.DateTimeField(null=True, blank=True)
    meeting_end = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_activities")
    reminder_at = models.DateTimeField(null=True, blank=True)
    # When the reminder e-mail went out (crm.services.reminders); cleared when reminder_at changes.
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # Failed sending attempts of the pending reminder and the last failure; after CRM_REMINDER_MAX_ATTEMPTS the
    # reminder is given up (it stays unsent, with its error). Both are reset when reminder_at changes.
    reminder_attempts = models.PositiveSmallIntegerField(default=0)
    reminder_last_error = models.CharField(max_length=500, blank=True)
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="activities")
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="activities")
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_activities")
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="crm_activity_contact"),
            models.Index(fields=["company", "occurred_at"], name="crm_activity_company"),
            models.Index(fields=["deal", "occurred_at"], name="crm_activity_deal"),
            models.Index(fields=["assignee", "due_at"], name="crm_activity_open_tasks",
                         condition=Q(kind="task", done=False)),
            # Only pending reminders: the every-minute reminder scan reads this small index.
            models.Index(fields=["reminder_at"], name="crm_activity_reminders_due",
                         condition=Q(kind="task", done=False, reminder_at__isnull=False,
                                     reminder_sent_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(company__isnull=False) | Q(deal__isnull=False),
                name="crm_activity_linked"),
            models.CheckConstraint(condition=~Q(kind="task") | Q(due_at__isnull=False), name="crm_activity_task_due"),
            models.CheckConstraint(
                condition=Q(meeting_start__isnull=True) | Q(meeting_end__isnull=True)
                | Q(meeting_end__gte=models.F("meeting_start")), name="crm_activity_meeting_order"),
            models.CheckConstraint(condition=Q(done=False) | Q(done_at__isnull=False), name="crm_activity_done_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def is_overdue(self) -> bool:
        open_task = self.kind == self.Kind.TASK and not self.done
        return open_task and self.due_at is not None and self.due_at < timezone.now()
