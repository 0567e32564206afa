"""The record of merged duplicates (who merged which into which, choosing what)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class RecordMerge(models.Model):
    """``other_id`` was merged into ``survivor`` by ``merged_by`` (the shape of every merge record).

    ``other_id`` is a plain id (the other record no longer exists); ``other_snapshot`` keeps its fields (a
    contact's emails and phones too) as they were, ``field_choices`` which record each field was taken from
    (``{"first_name": "other", ...}``), ``merged_snapshot`` the survivor's fields after the merge and
    ``moved`` how many rows of each relation were re-pointed. Subclasses add ``survivor``.
    """

    label = "Record"

    survivor_id_at_merge = models.BigIntegerField()
    other_id = models.BigIntegerField()
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)
    field_choices = models.JSONField(default=dict)
    other_snapshot = models.JSONField(default=dict)
    merged_snapshot = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)

    class Meta:
        abstract = True
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label} #{self.other_id} → #{self.survivor_id_at_merge}"


class ContactMerge(RecordMerge):
    """A contact merged into another (see ``RecordMerge``)."""

    label = "Contact"

    survivor = models.ForeignKey("crm.Contact", null=True, on_delete=models.SET_NULL, related_name="merges")

    class Meta(RecordMerge.Meta):
        indexes = [
            models.Index(fields=["survivor_id_at_merge"], name="crm_contactmerge_survivor"),
            models.Index(fields=["other_id"], name="crm_contactmerge_other"),
        ]


class CompanyMerge(RecordMerge):
    """A company merged into another (see ``RecordMerge``)."""

    label = "Company"

    survivor = models.ForeignKey("crm.Company", null=True, on_delete=models.SET_NULL, related_name="merges")

    class Meta(RecordMerge.Meta):
        indexes = [models.Index(fields=["survivor_id_at_merge"], name="crm_companymerge_survivor")]


class DuplicateCandidate(models.Model):
    """A likely duplicate pair (lower id first) found by the last scan (``crm.services.duplicates``).

    Plain ids rather than foreign keys: a pair is a finding about two contacts, not a relation of either (a
    merge must not re-point it), and the reading selector joins the contacts, so pairs of deleted contacts
    vanish at once and the next scan removes them.
    """

    contact_a_id = models.BigIntegerField()
    contact_b_id = models.BigIntegerField()
    reasons = ArrayField(models.CharField(max_length=10), help_text="email, phone and/or name")
    details = ArrayField(models.CharField(max_length=254), default=list, blank=True)
    score = models.PositiveSmallIntegerField(default=1, help_text="Number of reasons; most first in the list.")
    seen_at = models.DateTimeField(help_text="Start of the last scan that found the pair.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_a_id", "contact_b_id"], name="crm_dupcandidate_pair_unique"),
            models.CheckConstraint(condition=models.Q(contact_a_id__lt=models.F("contact_b_id")),
                                   name="crm_dupcandidate_ordered"),
        ]
        indexes = [
            models.Index(fields=["-score", "contact_a_id", "contact_b_id"], name="crm_dupcandidate_rank"),
            models.Index(fields=["contact_b_id"], name="crm_dupcandidate_b"),
        ]

    def __str__(self) -> str:
        return f"#{self.contact_a_id} / #{self.contact_b_id}: {', '.join(self.reasons)}"


class DuplicateScan(models.Model):
    """One run of the duplicate scan (when, how long, how many pairs): the page shows how fresh the list is."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    pairs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Scan {self.started_at:%Y-%m-%d %H:%M}: {self.pairs} pairs"


class DuplicateDismissal(models.Model):
    """A pair of contacts a user said are not duplicates (lower id first); hidden from the review list."""

    contact_a_id = models.BigIntegerField()
    contact_b_id = models.BigIntegerField()
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_a_id", "contact_b_id"], name="crm_dupdismiss_pair_unique"),
            models.CheckConstraint(condition=models.Q(contact_a_id__lt=models.F("contact_b_id")),
                                   name="crm_dupdismiss_ordered"),
        ]

    def __str__(self) -> str:
        return f"Not duplicates: #{self.contact_a_id} / #{self.contact_b_id}"
