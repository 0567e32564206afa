from django.conf import settings
from django.db import models
from django.db.models import Q

from cdp.models.sources import Source


class EventImport(models.Model):
    """A CSV upload turned into identify (profiles) or track (events) messages of ``source``.

    Life: ``mapping`` (uploaded, columns not confirmed) → ``queued`` → ``running`` (chunks ingested, counters
    and the ``processed_rows`` watermark advance per chunk) → ``done`` or ``failed``. Each row's messageId is
    ``import-<id>-<row>``, so running it again stores nothing twice.
    """

    class Kind(models.TextChoices):
        PROFILES = "profiles", "Profiles (identify)"
        EVENTS = "events", "Events (track)"

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to="cdp/imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True, default="")
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)  # watermark: file rows handled so far
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the first rejected rows: {row, error, detail}
    errors_file = models.FileField(upload_to="cdp/imports/errors/%Y/%m/", blank=True)
    failure = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["source", "-created_at"], name="cdp_import_source_created")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["profiles", "events"]), name="cdp_import_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["mapping", "queued", "running", "done", "failed"]),
                name="cdp_import_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.kind}, {self.status})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
