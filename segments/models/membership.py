"""Membership history (one interval per stay of a profile in a segment) and size snapshots per refresh."""

from django.db import models
from django.db.models import Q


class Membership(models.Model):
    """``profile_id`` was a member of ``segment`` from ``entered_at`` until ``exited_at`` (null: still is).

    At most one open interval per (segment, profile). ``profile_id`` is a plain id (cdp's profile): a merge
    moves open intervals to the survivor.
    """

    segment = models.ForeignKey("segments.Segment", on_delete=models.CASCADE, related_name="memberships")
    profile_id = models.BigIntegerField()
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "profile_id"], condition=Q(exited_at__isnull=True),
                                    name="segments_membership_one_open"),
        ]
        indexes = [
            models.Index(fields=["profile_id", "-entered_at"], name="segments_membership_profile"),
            models.Index(fields=["segment", "-entered_at"], name="segments_membership_entered"),
            models.Index(fields=["segment", "-exited_at"], condition=Q(exited_at__isnull=False),
                         name="segments_membership_exited"),
        ]

    def __str__(self) -> str:
        return f"profile {self.profile_id} in {self.segment_id} since {self.entered_at:%Y-%m-%d}"


class SizeSnapshot(models.Model):
    """The size of a segment after a refresh, with how many entered and left and how long it took."""

    segment = models.ForeignKey("segments.Segment", on_delete=models.CASCADE, related_name="snapshots")
    at = models.DateTimeField()
    size = models.PositiveIntegerField()
    entered = models.PositiveIntegerField(default=0)
    exited = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    full = models.BooleanField(default=True, help_text="A full refresh (not a real-time check of a few profiles).")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["segment", "-at"], name="segments_snapshot_segment")]

    def __str__(self) -> str:
        return f"{self.segment_id} @ {self.at:%Y-%m-%d %H:%M}: {self.size}"
