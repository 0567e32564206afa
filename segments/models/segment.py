"""A segment: a named rule tree over profiles, refreshed in real time or on a schedule."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Segment(models.Model):
    """A named audience of profiles defined by a rule tree (``definition``, see segments.rules).

    ``version`` counts refresh requests; a refresh runs for the version it was asked for and skips itself when
    a newer one was requested meanwhile. ``refreshed_version`` is the version the members reflect.
    ``depends_on`` lists the ids of segments the rule uses (kept by the services on save). A ``static`` segment
    is a frozen copy of another segment's members at one moment: no rule, never refreshed.
    """

    class Mode(models.TextChoices):
        REALTIME = "realtime", "Real-time"
        SCHEDULED = "scheduled", "Scheduled"
        STATIC = "static", "Static list (frozen)"

    class Status(models.TextChoices):
        NEW = "new", "Not yet refreshed"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Refreshing"
        READY = "ready", "Up to date"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    definition = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.REALTIME)
    interval_minutes = models.PositiveIntegerField(default=60, help_text="Scheduled segments: minutes between "
                                                   "full refreshes.")
    depends_on = models.JSONField(default=list, blank=True)
    uses_time = models.BooleanField(default=False, help_text="The rule changes with the passing of time.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    last_error = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=0)
    refreshed_version = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_ms = models.PositiveIntegerField(null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["next_refresh_at"], condition=Q(next_refresh_at__isnull=False),
                                name="segments_next_refresh")]

    def __str__(self) -> str:
        return self.name
