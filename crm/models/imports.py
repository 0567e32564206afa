"""CSV imports of contacts and companies, run as chunked Celery jobs."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ImportJob(models.Model):
    """One uploaded CSV, its column mapping and the progress of its import.

    ``mapping`` is ``{column index (as text): field}`` where field is a standard field name (see
    ``crm.services.imports.IMPORT_FIELDS``) or ``custom:<key>``; unmapped columns are ignored.
    Counters only grow, chunk by chunk (``processed_rows`` is the resume point of the job).
    """

    class ObjectType(models.TextChoices):
        CONTACT = "contact", "Contacts"
        COMPANY = "company", "Companies"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded (mapping columns)"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    file = models.FileField(upload_to="crm/imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    headers = models.JSONField(default=list, blank=True, help_text="Column headers of the file, in order.")
    mapping = models.JSONField(default=dict, blank=True, help_text="{column index: field}.")
    phone_region = models.CharField(max_length=2, blank=True,
                                    help_text="Country (ISO code) of phone numbers written without +country code.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="Why the whole job failed (row errors are kept per row).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_imports")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="crm_import_user")]
        constraints = [
            models.CheckConstraint(condition=Q(processed_rows__lte=F("total_rows")), name="crm_import_progress"),
            models.CheckConstraint(
                condition=Q(created_count__lte=F("processed_rows")) & Q(updated_count__lte=F("processed_rows"))
                & Q(failed_count__lte=F("processed_rows")),
                name="crm_import_counts"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.get_object_type_display().lower()} ({self.status})"

    @property
    def percent(self) -> int:
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ImportRowError(models.Model):
    """A row the import could not apply; downloadable as CSV (row number, errors, the row as uploaded)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="1-based data row number (the header is row 0).")
    errors = models.JSONField(default=list)
    data = models.JSONField(default=list, help_text="The row's cells as uploaded.")

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="crm_importerror_row_unique")]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {'; '.join(self.errors)}"
