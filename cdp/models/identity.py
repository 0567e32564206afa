"""The identity graph: identifiers, the rules that govern merging, and the audit of merges, refusals and splits."""

from django.conf import settings
from django.db import models

DEFAULT_LIMITS = {"user_id": 1, "email": 5, "phone": 5, "anonymous_id": 100, "crm_contact_id": 1}
DEFAULT_PRIORITY = ["user_id", "crm_contact_id", "email", "phone", "*", "anonymous_id"]
DEFAULT_BLOCKED = [
    "", "null", "undefined", "anonymous", "0", "[object Object]", "none", "test@test.com", "unknown", "n/a",
    "nil", "-1", "guest", "user", "email", "noreply@example.com",
]


class Identifier(models.Model):
    """One (type, value) of a person; each belongs to exactly one profile (unique constraint)."""

    # Byte-wise collation: identifiers match exactly, and their unique index compares without locale rules
    # (the hottest lookup of identity resolution).
    type = models.CharField(max_length=64, db_collation="C")
    value = models.CharField(max_length=512, db_collation="C")
    # Indexed by (profile, type) below; a second index on profile alone would only slow identifier writes.
    # No database constraint: its check cost every identifier written by identity resolution (the only writer,
    # which sets it under the profile's row lock) a lookup at commit; tests check no identifier is left orphaned.
    profile = models.ForeignKey("cdp.Profile", on_delete=models.CASCADE, related_name="identifiers", db_index=False,
                                db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["type", "value"], name="cdp_identifier_type_value")]
        indexes = [models.Index(fields=["profile", "type"], name="cdp_identifier_profile")]

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class IdentitySettings(models.Model):
    """The identity rules (a single row, pk=1): per-type limits, type priority, CRM link by email, phone region.

    ``priority`` lists types from highest to lowest; ``"*"`` stands for every type not listed (external ids).
    ``limits`` maps a type to the maximum number of identifiers of that type one profile may hold.
    """

    limits = models.JSONField(default=dict, blank=True)
    priority = models.JSONField(default=list, blank=True)
    link_crm_by_email = models.BooleanField(
        default=False, help_text="Link a profile to the CRM contact with the same email when it has no CRM id."
    )
    default_phone_region = models.CharField(max_length=2, default="US")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "identity rules"
        verbose_name_plural = "identity rules"

    def __str__(self) -> str:
        return "Identity rules"


class BlockedValue(models.Model):
    """A value never used as an identifier: exact (case-insensitive, trimmed) or a case-insensitive regex."""

    value = models.CharField(max_length=255, blank=True)
    is_regex = models.BooleanField(default=False)
    identifier_type = models.CharField(max_length=64, blank=True, help_text="Empty: applies to every type.")
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["value", "is_regex", "identifier_type"], name="cdp_blockedvalue_unique")
        ]

    def __str__(self) -> str:
        return f"/{self.value}/" if self.is_regex else repr(self.value)


class ProfileMerge(models.Model):
    """``merged`` was folded into ``survivor`` because one message carried identifiers of both."""

    # Written only by identity resolution, with ids of profile rows it holds locked: no database constraints (their
    # checks cost every merge two lookups at commit); the (survivor, at) index serves lookups by survivor.
    survivor = models.ForeignKey("cdp.Profile", on_delete=models.CASCADE, related_name="merges_won", db_index=False,
                                 db_constraint=False)
    merged = models.ForeignKey("cdp.Profile", on_delete=models.CASCADE, related_name="merges_lost",
                               db_constraint=False)
    event_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=100, blank=True)
    identifiers = models.JSONField(default=list, help_text="The message's identifiers as [type, value] pairs.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["survivor", "at"], name="cdp_merge_survivor")]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class RefusedMerge(models.Model):
    """A merge a message asked for but a limit refused; the dropped identifier and why."""

    # As for ProfileMerge: written by identity resolution alone, no database constraints.
    profile = models.ForeignKey("cdp.Profile", on_delete=models.CASCADE, related_name="refusals", db_index=False,
                                db_constraint=False)
    other_profile = models.ForeignKey(
        "cdp.Profile", null=True, blank=True, on_delete=models.CASCADE, related_name="refusals_other",
        db_constraint=False,
    )
    event_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=100, blank=True)
    dropped_type = models.CharField(max_length=64)
    dropped_value = models.CharField(max_length=512)
    reason = models.CharField(max_length=255)
    handed_over = models.BooleanField(default=False, help_text="A device id moved to the newly identified person.")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["profile", "at"], name="cdp_refused_profile")]

    def __str__(self) -> str:
        return f"{self.dropped_type}:{self.dropped_value} refused ({self.reason})"


class IdentifierSplit(models.Model):
    """An admin split ``type:value`` off ``from_profile`` into the new ``to_profile``."""

    identifier_type = models.CharField(max_length=64)
    identifier_value = models.CharField(max_length=512)
    from_profile = models.ForeignKey("cdp.Profile", on_delete=models.CASCADE, related_name="splits_from")
    to_profile = models.ForeignKey("cdp.Profile", on_delete=models.CASCADE, related_name="splits_to")
    events_moved = models.IntegerField(default=0)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.identifier_type}:{self.identifier_value} split {self.from_profile_id} → {self.to_profile_id}"
