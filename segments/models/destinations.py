"""Destinations: what a segment does when a profile enters or leaves it (signed webhooks, CRM actions), the
delivery log of webhooks (with its dead-letter list), the once-per-entry record of CRM actions, and member
exports (on demand, scheduled, kept as files)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Destination(models.Model):
    """One thing ``segment`` does on enter and/or exit. A webhook POSTs a signed JSON body to ``url``; a CRM action
    (task, tag, lifecycle stage, lead contact) runs once per entry, configured by ``config`` (see
    segments.services.crm_actions for its keys)."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        TASK = "task", "Create a task"
        TAG_ADD = "tag_add", "Add a tag"
        TAG_REMOVE = "tag_remove", "Remove a tag"
        LIFECYCLE = "lifecycle", "Set lifecycle stage"
        CREATE_CONTACT = "create_contact", "Create a lead contact"

    segment = models.ForeignKey("segments.Segment", on_delete=models.CASCADE, related_name="destinations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=120)
    on_enter = models.BooleanField(default=True)
    on_exit = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    url = models.URLField(max_length=2000, blank=True)
    # The signing secret is needed in clear to sign; it is shown once (on creation and rotation), never again.
    secret = models.CharField(max_length=100, blank=True)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    traits = models.JSONField(default=list, blank=True, help_text="Trait keys sent in the webhook body.")
    config = models.JSONField(default=dict, blank=True)
    round_robin_last_user_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["segment", "id"]
        indexes = [models.Index(fields=["segment"], condition=Q(enabled=True), name="segments_dest_enabled")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def is_webhook(self) -> bool:
        return self.kind == self.Kind.WEBHOOK


class Delivery(models.Model):
    """One webhook call for one entry (or exit) of one profile. ``delivery_id`` stays the same across retries and
    replays so the receiver can deduplicate; ``body`` is fixed at the first attempt so every attempt sends the
    same bytes. After the last attempt a failing delivery is ``dead`` (the dead-letter list)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead (failed)"
        DISCARDED = "discarded", "Discarded"

    class Event(models.TextChoices):
        ENTERED = "entered", "Entered"
        EXITED = "exited", "Exited"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    membership = models.ForeignKey("segments.Membership", on_delete=models.CASCADE, related_name="+")
    profile_id = models.BigIntegerField()
    event = models.CharField(max_length=10, choices=Event.choices)
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["destination", "membership", "event"], name="segments_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=["pending", "retrying"]),
                         name="segments_delivery_due"),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="segments_delivery_sending"),
            models.Index(fields=["destination", "-created_at"], name="segments_delivery_dest"),
            models.Index(fields=["dead_at"], condition=Q(status="dead"), name="segments_delivery_dead"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} ({self.status})"


class ActionRun(models.Model):
    """A CRM action for one entry of one profile: at most one per (action, membership interval), so a re-run
    refresh, a replayed batch or a second worker never acts twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="runs")
    membership = models.ForeignKey("segments.Membership", on_delete=models.CASCADE, related_name="+")
    profile_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    contact_id = models.BigIntegerField(null=True, blank=True)
    activity_id = models.BigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["destination", "membership"], name="segments_actionrun_once"),
        ]
        indexes = [
            models.Index(fields=["contact_id", "-done_at"], condition=Q(contact_id__isnull=False),
                         name="segments_actionrun_contact"),
            models.Index(fields=["created_at"], condition=Q(status="pending"), name="segments_actionrun_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.destination_id} for profile {self.profile_id}: {self.status}"


class ExportSchedule(models.Model):
    """Write the members of ``segment`` to a CSV file every ``every_hours``; files older than ``keep_days`` go."""

    segment = models.ForeignKey("segments.Segment", on_delete=models.CASCADE, related_name="export_schedules")
    every_hours = models.PositiveIntegerField(default=24)
    keep_days = models.PositiveIntegerField(default=30)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["next_run_at"], condition=Q(enabled=True), name="segments_export_due")]

    def __str__(self) -> str:
        return f"{self.segment_id} every {self.every_hours} h"


class ExportFile(models.Model):
    """A CSV of a segment's members, kept in Django storage until its schedule's retention ends."""

    segment = models.ForeignKey("segments.Segment", on_delete=models.CASCADE, related_name="export_files")
    schedule = models.ForeignKey(ExportSchedule, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="files")
    file = models.FileField(upload_to="segment-exports/%Y/%m/", max_length=300)
    rows = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["expires_at"], condition=Q(expires_at__isnull=False),
                                name="segments_exportfile_expiry")]

    def __str__(self) -> str:
        return self.file.name
